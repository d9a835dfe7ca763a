"""`%glm` and `%%glm`: parse flags, pick a subcommand or a prompt, delegate to the session.

The rule that keeps subcommands and prompts apart: a `%glm` line is a subcommand only when its
first word names a row of `subcommands.SUBCOMMANDS` and the rest is exactly the arguments that row
takes (nothing, flags, `on`/`off`, ...; `%glm help` lists them). Anything else is a prompt
(`%glm explain decorators` asks about decorators). To ask a prompt that looks like a
subcommand, start it with `--`: `%glm -- help`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand

from ..core.request import Request
from ..core.session import Session
from . import subcommands
from .commands import Command
from .flags import one_line, parse, split_line, tidy, to_request
from .front import Front

if TYPE_CHECKING:
    from ..agent.runs import Agents

_F = TypeVar("_F", bound=Callable[..., Any])


def _naming_subcommands(func: _F) -> _F:
    """The magic's docstring (what `%glm?` shows) followed by the subcommands in the table."""
    names = ", ".join(f"`{name}`" for name in subcommands.SUBCOMMANDS)
    func.__doc__ = f"{func.__doc__}\n\nSubcommands: {names}."
    return func


@magics_class
class GLMMagics(Magics):
    """The `%glm` line magic and `%%glm` cell magic."""

    def __init__(self, shell: Any, session: Session) -> None:
        super().__init__(shell)
        self.front = Front(session)

    @property
    def session(self) -> Session:
        """The kernel's session: its conversation, usage and pipeline."""
        return self.front.session

    @property
    def agents(self) -> Agents:
        """The kernel's agent runs and MCP servers."""
        return self.front.agents

    def close(self) -> None:
        """Undo what was switched on and close the clients (on `%unload_ext`)."""
        self.front.close()

    # --- parsing -------------------------------------------------------------------------------

    def line_request(self, line: str) -> Request | Command:
        """A `%glm` line: a subcommand (by the rule in this module's docstring), or a request."""
        word, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        sub = subcommands.SUBCOMMANDS.get(word)
        if sub is not None and sub.takes.fits(rest):
            if not sub.takes.flags:
                return Command(word, rest)
            flags, question = split_line(rest)
            if not question or sub.takes.question:
                return Command(word, question, parse(flags))
        flags, prompt = split_line(line)
        return to_request(parse(flags), prompt)

    # --- magics --------------------------------------------------------------------------------

    @cell_magic("glm")  # type: ignore[arg-type]
    def glm_cell(self, line: str, cell: str) -> None:
        """Ask GLM the cell's text; flags on the first line (see `%glm help`)."""
        with one_line():
            args = parse(line)
            if args.map is not None:
                from .map_magic import run_map

                run_map(self.session, args, tidy(cell))
                return
            self.front.ask(to_request(args, tidy(cell)))

    @line_magic("glm")  # type: ignore[arg-type]
    @no_var_expand  # `{name}` is ours to fill in (summaries, JSON left alone), not IPython's
    @_naming_subcommands
    def glm_line(self, line: str) -> None:
        """`%glm PROMPT` asks; `%glm SUBCOMMAND` manages (see `%glm help`)."""
        with one_line():
            parsed = self.line_request(line)
            request = subcommands.run(parsed, self.front) if isinstance(parsed, Command) else parsed
            if request is not None:
                self.front.ask(request)

    async def glm_cell_async(self, line: str, cell: str) -> None:
        """`%%glm` as a coroutine on the kernel's loop (what the input transformer calls)."""
        with one_line():
            args = parse(line)
            if args.map is not None:
                from .map_magic import run_map_async

                await run_map_async(self.session, args, tidy(cell))
                return
            await self.front.ask_async(to_request(args, tidy(cell)))

    async def glm_line_async(self, line: str) -> None:
        """`%glm` as a coroutine on the kernel's loop."""
        with one_line():
            parsed = self.line_request(line)
            if isinstance(parsed, Command):
                request = await subcommands.run_async(parsed, self.front)
            else:
                request = parsed
            if request is not None:
                await self.front.ask_async(request)
