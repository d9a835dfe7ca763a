"""The one table of `%glm` subcommands (`SUBCOMMANDS`): their arguments, handlers and help,
which the line magic's dispatch, `%glm help` and the magic's docstring all read."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from IPython.core.error import UsageError

from ..config.paths import looks_like_run_id
from ..core.request import Request
from . import commands
from .commands import Command, show
from .flags import USAGE
from .front import Front


def help_text(usage: str) -> str:
    """How to use the magics, the subcommands listed from `SUBCOMMANDS`."""
    listed = "\n".join(
        f"- `%glm {sub.name}`{' ' + sub.takes.shown if sub.takes.shown else ''}: {sub.help}"
        for sub in SUBCOMMANDS.values()
    )
    return (
        "**%%glm [flags]** followed by the prompt in the cell, or **%glm [flags] PROMPT** on one "
        "line. `{name}` in a prompt stands for a notebook variable.\n\n"
        f"Subcommands:\n\n{listed}\n\n"
        "`%%glm --agent` lets the model run code here, with your approval; "
        "`--tutor` (or `GLM.persona = 'tutor'`) asks a tutor who guides rather than solves; "
        "`%%glm --map COLUMN --df NAME -o OUT` asks the cell's prompt about every row "
        "(`glm_jupyter.map` from Python). `glm_jupyter.chat()` opens a chat panel instead. "
        "A line is a subcommand only when the rest of it is that subcommand's own arguments; "
        'anything else is a prompt (`%glm -- help` asks the prompt "help").\n\n'
        f"```\n{usage}\n```"
    )


@dataclass(frozen=True)
class Arguments:
    """What may follow a subcommand's name: as `%glm help` shows it, and the test the rest of a
    line must pass for the line to be that subcommand rather than a prompt."""

    shown: str
    fits: Callable[[str], bool]
    flags: bool = False  # the rest is `%glm` flags, parsed into `Command.args`
    question: bool = False  # and a question may follow the flags


NOTHING = Arguments("", lambda rest: not rest)
FLAGS = Arguments("[flags]", lambda rest: not rest or rest.startswith("-"), flags=True)
FLAGS_THEN_QUESTION = dataclasses.replace(FLAGS, shown="[flags] [question]", question=True)
ON_OFF = Arguments("[on|off]", lambda rest: rest in ("", "on", "off"))
NOTEBOOK_PATH = Arguments(
    "[PATH.ipynb]", lambda rest: not rest or (rest.endswith(".ipynb") and " " not in rest)
)
RESUME = dataclasses.replace(
    FLAGS_THEN_QUESTION,
    shown="[flags] [ID]",
    fits=lambda rest: not rest or rest.startswith("-") or looks_like_run_id(rest),
)
MCP_VERB = Arguments(
    "add [--trusted] NAME -- COMMAND... | add [--trusted] NAME URL | list | remove NAME",
    lambda rest: rest.split(" ", 1)[0] in ("add", "list", "remove"),
)


@dataclass(frozen=True)
class Subcommand:
    """One `%glm` subcommand: its name, its arguments, what runs it, and its line of help."""

    name: str
    takes: Arguments
    run: Callable[[Command, Front], Request | None]  # a request: a question to ask
    help: str
    # For a subcommand that lives on the kernel's event loop; `run` then says why it cannot.
    run_async: Callable[[Command, Front], Awaitable[None]] | None = None


def _reset(command: Command, front: Front) -> None:
    front.session.conversation.reset()
    show("Conversation cleared: the next prompt starts fresh.")


def _usage(command: Command, front: Front) -> None:
    lines = [front.session.ledger.table(), front.session.policy.usage_line(), _gateway_line(front)]
    show("\n\n".join(line for line in lines if line))


def _gateway_line(front: Front) -> str:
    """The student's budget at the course gateway, when that is where requests go."""
    from ..errors import GLMError

    try:
        s = front.session.settings()
    except GLMError:
        return ""
    if s.provider.name != "gateway":
        return ""
    from ..wire.budget import budget_line

    session = front.session
    return budget_line(session.pipeline.endpoint(s), session.pipeline.transport)


def _help(command: Command, front: Front) -> None:
    show(help_text(USAGE), USAGE)


def _mcp_needs_the_loop(command: Command, front: Front) -> None:
    raise UsageError(
        "%glm mcp needs a Jupyter kernel with autoawait on: the MCP connections live on the "
        "kernel's event loop. Run it as a cell of its own."
    )


async def _mcp(command: Command, front: Front) -> None:
    await commands.mcp(front.agents, command.text)


SUBCOMMANDS: dict[str, Subcommand] = {
    sub.name: sub
    for sub in (
        Subcommand("reset", NOTHING, _reset, "start a new conversation."),
        Subcommand(
            "history",
            NOTHING,
            lambda c, f: show(commands.history(f.session)),
            "the conversation so far.",
        ),
        Subcommand("usage", NOTHING, _usage, "tokens and cost this session."),
        Subcommand(
            "config",
            NOTHING,
            lambda c, f: show(commands.config_table(f.session)),
            "the settings and their sources.",
        ),
        Subcommand(
            "models",
            NOTHING,
            lambda c, f: show(commands.models_table(commands.served(f.session))),
            "known models, windows, prices and efforts, after what the provider lists.",
        ),
        Subcommand(
            "context",
            FLAGS_THEN_QUESTION,
            lambda c, f: show(commands.preview(f.session, c)),
            "preview what would be sent, without sending.",
        ),
        Subcommand(
            "explain",
            FLAGS,
            lambda c, f: commands.explain_request(c, f.session, fix=False),
            "explain the last error (`--cell N`: In [N]'s).",
        ),
        Subcommand(
            "fix",
            FLAGS,
            lambda c, f: commands.explain_request(c, f.session, fix=True),
            "fix the last error (`--cell N`: In [N]'s, or In [N] itself if it ran cleanly).",
        ),
        Subcommand(
            "hint",
            FLAGS,
            lambda c, f: commands.hint_request(c, f.session),
            "a hint, more specific each time, about the last error or cell (`--cell N`: In [N]).",
        ),
        Subcommand(
            "autoexplain",
            ON_OFF,
            lambda c, f: show(f.autoexplain(c.text)),
            "an *Explain this error* button under cells that raise (no argument: which it is).",
        ),
        Subcommand(
            "export",
            NOTEBOOK_PATH,
            lambda c, f: show(commands.export(f.agents, c.text)),
            "the last agent run's approved code, in a new cell or in a notebook file.",
        ),
        Subcommand(
            "runs",
            NOTHING,
            lambda c, f: show(*commands.runs_listing()),
            "the agent runs kept on disk, newest first, and where they are.",
        ),
        Subcommand(
            "resume",
            RESUME,
            lambda c, f: commands.resume_request(c),
            "go on with an agent run that stopped: the newest, or run ID "
            "(flags give it a new budget: `--max-steps`, `--time`, `--max-cost`, `--auto`).",
        ),
        Subcommand(
            "mcp",
            MCP_VERB,
            _mcp_needs_the_loop,
            "MCP servers whose tools agent mode may call.",
            run_async=_mcp,
        ),
        Subcommand("help", NOTHING, _help, "this help."),
    )
}


def find(name: str) -> Subcommand:
    """The subcommand of this name; UsageError for a name the table lacks."""
    sub = SUBCOMMANDS.get(name)
    if sub is None:
        raise UsageError(
            f"%glm has no subcommand {name!r}; it has: {', '.join(SUBCOMMANDS)} (see %glm help)."
        )
    return sub


def run(command: Command, front: Front) -> Request | None:
    """Run one subcommand; returns a request when the subcommand is a question to ask."""
    return find(command.name).run(command, front)


async def run_async(command: Command, front: Front) -> Request | None:
    """Run one subcommand on the kernel's loop, where those that need it (`mcp`) can run."""
    sub = find(command.name)
    if sub.run_async is None:
        return sub.run(command, front)
    await sub.run_async(command, front)
    return None
