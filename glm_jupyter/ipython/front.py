"""glm-jupyter in one shell: the session, its agent runs, and the explain-this-error button."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InputError
from .autoexplain import AutoExplain

if TYPE_CHECKING:
    from ..agent.runs import Agents
    from ..core.request import Request
    from ..core.session import Session
    from ..reply import Reply


class Front:
    """What the magics, the subcommands and the chat panel share for one shell."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._agents: Agents | None = None
        self._autoexplain: AutoExplain | None = None

    @property
    def agents(self) -> Agents:
        """The shell's agent runs and MCP servers, made on first use."""
        # The agent package (and asyncio with it) loads on the first agent request or agent
        # subcommand, not at `%load_ext`: most sessions never start one.
        if self._agents is None:
            from ..agent.runs import Agents

            self._agents = Agents(self.session)
        return self._agents

    def ask(self, request: Request) -> Reply:
        """Answer a request synchronously: one turn, or an agent run."""
        if request.agent:
            return self.agents.run_sync(request)
        return self.session.ask(request)

    async def ask_async(self, request: Request) -> Reply:
        """Answer a request on the kernel's loop: one turn, or an agent run."""
        if request.agent:
            return await self.agents.run(request)
        return await self.session.ask_async(request)

    def autoexplain(self, word: str) -> str:
        """Turn the "Explain this error" button on or off (`%glm autoexplain on|off`)."""
        if self.session.shell is None:
            raise InputError("autoexplain needs an IPython shell.")
        if self._autoexplain is None:
            self._autoexplain = AutoExplain(self.session, self.agents)
        return self._autoexplain.set(word)

    def close(self) -> None:
        """Switch the button off and close the session's clients."""
        if self._autoexplain is not None:
            self._autoexplain.set("off")
        self.session.unbind()
        self.session.close()
