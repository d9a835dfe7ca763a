"""`%glm` subcommands: reset, history, usage, config, models, help."""

from __future__ import annotations

from . import catalog
from .errors import GLMError
from .providers import PROVIDERS
from .runner import Session

_PREVIEW = 600


def show(markdown: str, plain: str | None = None) -> None:
    """Display Markdown in a notebook, plain text in a terminal."""
    from IPython.display import display

    display({"text/markdown": markdown, "text/plain": plain or markdown}, raw=True)


def _clip(text: str) -> str:
    return text if len(text) <= _PREVIEW else text[:_PREVIEW] + f"… ({len(text):,} characters)"


def history(session: Session) -> str:
    """The conversation so far."""
    turns = session.conversation.turns()
    if not turns:
        return "The conversation is empty."
    lines = []
    for message in turns:
        who = "**You**" if message.role == "user" else "**GLM**"
        lines.append(f"{who}: {_clip(message.content) or '*(no text)*'}")
    return "\n\n".join(lines)


def config_table(session: Session) -> str:
    """Effective settings and where each came from; the key is never shown."""
    try:
        rows = session.settings().describe()
    except GLMError as exc:
        return f"**The settings cannot make a request yet:** {exc}"
    out = ["| setting | value | from |", "|---|---|---|"]
    out += [f"| {name} | `{value}` | {source} |" for name, value, source in rows]
    return "\n".join(out)


def models_table() -> str:
    """Known models with context, output limit and price."""
    out = [
        "| model | context | max output | USD / 1M in | cached in | out |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in catalog.MODELS.values():
        out.append(
            f"| {m.name} | {m.context:,} | {m.max_output:,} | {m.input_price:.2f} | "
            f"{m.cached_price:.2f} | {m.output_price:.2f} |"
        )
    defaults = ", ".join(f"{p.name}: `{p.default_model}`" for p in PROVIDERS.values())
    return "\n".join(out) + f"\n\nDefault model per provider: {defaults}."


def help_text(usage: str) -> str:
    """How to use the magics."""
    return (
        "**%%glm [flags]** followed by the prompt in the cell, or **%glm [flags] PROMPT** on one "
        "line.\n\nSubcommands: `%glm reset` (new conversation), `%glm history`, `%glm usage` "
        "(tokens and cost this session), `%glm config` (effective settings and their sources), "
        "`%glm models`, `%glm help`. A line is a subcommand only when it is exactly one of these "
        'words; anything else is a prompt (`%glm -- help` asks the prompt "help").\n\n'
        f"```\n{usage}\n```"
    )


def run(name: str, session: Session, usage: str) -> None:
    """Run one subcommand and show its result."""
    if name == "reset":
        session.conversation.reset()
        show("Conversation cleared: the next prompt starts fresh.")
    elif name == "history":
        show(history(session))
    elif name == "usage":
        show(session.ledger.table())
    elif name == "config":
        show(config_table(session))
    elif name == "models":
        show(models_table())
    else:
        show(help_text(usage), usage)
