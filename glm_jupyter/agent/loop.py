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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..context.prompt import user_message
from ..core.teaching import agent_system
from ..display.approval import Decision, TerminalApprover, WidgetApprover, show_arguments
from ..errors import AgentStopped, ClassroomLimitError, InputError, ToolError
from ..messages import Message, ToolCall
from ..wire.rawtools import parse_raw_tool_calls
from .tools import Tool

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..core.reply import Reply
    from ..core.session import Session
    from ..core.turn import Request, Turn

AGENT_SYSTEM = (
    "You are GLM, working as an agent in the person's live Jupyter kernel. Use the tools to "
    "look at their variables and to run Python there. Work in small steps, check each result, "
    "and fix your own errors. When the task is done, stop calling tools and answer in Markdown."
)
STEP_MIME = "application/vnd.glm.step+json"
SAME_CALL_LIMIT = 3


@dataclass
class Step:
    """One tool call: what was asked, what the person decided, what came back."""

    index: int
    tool: str
    arguments: str
    reasoning: str
    approval: str = "pending"
    output: str = ""
    elapsed: float = 0.0
    status: str = "waiting"  # waiting, running, done, error, rejected, interrupted

    def as_dict(self) -> dict[str, Any]:
        """The step as the response JSON carries it."""
        return {
            "index": self.index,
            "tool": self.tool,
            "arguments": self.arguments,
            "reasoning": self.reasoning,
            "approval": self.approval,
            "output": self.output,
            "elapsed_s": round(self.elapsed, 3),
            "status": self.status,
        }

    @property
    def code(self) -> str | None:
        """The code of an approved run_python step."""
        if self.tool != "run_python" or self.approval in ("pending", "rejected"):
            return None
        try:
            code = json.loads(self.arguments).get("code")
        except (ValueError, AttributeError):
            return None
        return code if isinstance(code, str) else None

    def markdown(self) -> str:
        """The step card for front ends without the labextension."""
        try:
            shown = show_arguments(self.tool, json.loads(self.arguments or "{}"))
        except ValueError:
            shown = self.arguments
        language = "python" if self.tool == "run_python" else "json"
        head = f"**Step {self.index} · `{self.tool}`** · {self.approval} · {self.status}"
        if self.elapsed:
            head += f" · {self.elapsed:.2f} s"
        body = f"{head}\n\n```{language}\n{shown}\n```\n"
        if self.output:
            body += (
                f"\n<details><summary>What the model was told</summary>\n\n```text\n"
                f"{self.output}\n```\n\n</details>\n"
            )
        return body


class StepView:
    """A step's display, updated in place (notebook) or printed (terminal)."""

    def __init__(self, step: Step, *, notebook: bool) -> None:
        self.step = step
        self.notebook = notebook
        self._handle: Any = None

    def show(self) -> None:
        """Create or update the display."""
        if not self.notebook:
            s = self.step
            if s.status in ("waiting", "running"):
                return
            print(f"[step {s.index}] {s.tool} · {s.approval} · {s.status} · {s.elapsed:.2f} s")
            return
        from IPython.display import display

        bundle = {
            STEP_MIME: self.step.as_dict(),
            "text/markdown": self.step.markdown(),
            "text/plain": f"Step {self.step.index}: {self.step.tool} ({self.step.status})",
        }
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)


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
    ) -> None:
        self.session = session
        self.request = request
        self.settings = settings
        self.tools = {t.name: t for t in tools}
        self.notebook = notebook
        self.steps: list[Step] = []
        self.approve_all = bool(request.auto)
        # Buttons need a front end to click them: only a kernel has one.
        in_kernel = getattr(session.shell, "kernel", None) is not None
        self.approver: Any = WidgetApprover() if in_kernel else TerminalApprover()
        self.model_seconds = 0.0
        self.last_turn: Turn | None = None
        self._recent: deque[tuple[str, str]] = deque(maxlen=SAME_CALL_LIMIT)

    async def run(self) -> Turn:
        """Model turns and tool calls until an answer, a stop, or an interrupt."""
        session, s = self.session, self.settings
        blocks, question = session.context(self.request, s)
        content = user_message(blocks, question)
        messages = session.conversation.request(content, agent_system(AGENT_SYSTEM, s))
        transcript: list[Message] = [messages[-1]]
        specs = [t.spec() for t in self.tools.values()]
        limit = self.request.max_steps or s.max_steps
        try:
            for number in range(limit + 1):
                turn = session.agent_turn(s, messages, specs, blocks if number == 0 else [])
                self.last_turn = turn
                turn.reply.steps = [step.as_dict() for step in self.steps]
                started = time.monotonic()
                await session._stream_async(turn)
                self.model_seconds += time.monotonic() - started
                session.account(turn)
                if turn.failure is not None:
                    partial = turn.reply.content.text
                    if partial or turn.reply.reasoning.text:  # keep what arrived
                        transcript.append(
                            Message("assistant", partial, reasoning=turn.reply.reasoning.text)
                        )
                    break
                text, calls = turn.reply.content.text, list(turn.reply.tool_calls)
                if not calls:
                    text, calls = parse_raw_tool_calls(text)
                assistant = Message(
                    "assistant", text, reasoning=turn.reply.reasoning.text, tool_calls=tuple(calls)
                )
                messages.append(assistant)
                transcript.append(assistant)
                if not calls:
                    break
                if number == limit:
                    raise AgentStopped(f"Stopped after {limit} steps (--max-steps {limit}).")
                for position, call in enumerate(calls):
                    try:
                        result = await self.call(
                            call, turn.reply.reasoning.text if position == 0 else ""
                        )
                    except (KeyboardInterrupt, asyncio.CancelledError):
                        transcript += _unanswered(calls[position:], "interrupted by the person")
                        self._interrupted()
                        raise
                    answer = Message("tool", result, tool_call_id=call.id, name=call.name)
                    messages.append(answer)
                    transcript.append(answer)
        except AgentStopped as stop:
            transcript += _unanswered(_pending_calls(transcript), "not run: the run stopped")
            if self.last_turn is not None:
                self.last_turn.reply.notes.append(str(stop))
        finally:
            session.conversation.extend(transcript)
            last = self.last_turn
            if last is not None:
                stale = last.reply.steps != [step.as_dict() for step in self.steps]
                last.reply.steps = [step.as_dict() for step in self.steps]
                if stale or last.reply.notes:
                    last.renderer.finish(last.reply)  # show the whole trail and any stop note
        assert self.last_turn is not None
        return self.last_turn

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


def _check(session: Session, request: Request) -> Settings:
    """Settings for an agent run, after the admin's limits."""
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


async def run_agent(session: Session, request: Request) -> Reply:
    """Build the tools, run the agent, store `-o`, and raise what stopped it."""
    from ..display.render import DisplayRenderer
    from .executor import KernelExecutor
    from .kernel_tools import builtin_tools
    from .tools import USER_TOOLS

    s = _check(session, request)
    executor = KernelExecutor(session.shell, timeout=s.tool_timeout)
    tools = builtin_tools(
        session.shell,
        executor,
        limit=s.tool_output_chars,
        budget=s.summary_tokens,
        send_rows=s.send_rows,
    )
    tools += list(USER_TOOLS.values()) + (session.mcp.tools() if session.mcp else [])
    notebook = isinstance(session._renderer(s), DisplayRenderer)
    run = AgentRun(session, request, s, tools, notebook=notebook)
    session.last_agent = run
    failure: BaseException | None = None
    session.agent_running = True
    try:
        turn = await run.run()
        failure = turn.failure
    except (KeyboardInterrupt, asyncio.CancelledError):
        failure = KeyboardInterrupt()
        if run.last_turn is None:
            raise KeyboardInterrupt from None
        turn = run.last_turn
    finally:
        session.agent_running = False
    if request.out:
        session.shell.user_ns[request.out] = turn.reply.content.text
    if failure is not None:
        raise failure
    return turn.reply
