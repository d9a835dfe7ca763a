"""`%glm` subcommands: the one table of them (`SUBCOMMANDS`) and what each one does."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..config import catalog
from ..config.providers import PROVIDERS
from ..core.prompts import EXPLAIN, FIX, FIX_CELL
from ..core.request import Request
from ..core.session import Session
from ..errors import GLMError
from ..wire.served import listed_section, served_section
from .flags import to_request

if TYPE_CHECKING:
    from ..agent.runs import Agents
    from ..agent.tools import Tool
    from ..messages import Message

_PREVIEW = 600


@dataclass(frozen=True)
class Command:
    """A parsed subcommand line: its name, its words, and its parsed flags (if it takes any)."""

    name: str
    text: str = ""
    args: Any = None


def show(markdown: str, plain: str | None = None) -> None:
    """Display Markdown in a notebook, plain text in a terminal."""
    from IPython.display import display

    display({"text/markdown": markdown, "text/plain": plain or markdown}, raw=True)


def _clip(text: str) -> str:
    return text if len(text) <= _PREVIEW else text[:_PREVIEW] + f"… ({len(text):,} characters)"


def fenced(text: str, language: str = "") -> str:
    """`text` in a code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def history(session: Session) -> str:
    """The conversation so far."""
    turns = session.conversation.turns()
    if not turns:
        return "The conversation is empty."
    lines = []
    for message in turns:
        who = "**You**" if message.role == "user" else "**GLM**"
        pictures = "".join(f" *[picture: {p.label}, {p.brief()}]*" for p in message.images)
        lines.append(f"{who}: {_clip(message.content) or '*(no text)*'}{pictures}")
    return "\n\n".join(lines)


def config_table(session: Session) -> str:
    """Effective settings and where each came from; the key is never shown."""
    policy = session.policy.describe()
    try:
        rows = session.settings().describe()
    except (GLMError, UsageError) as exc:
        return f"**The settings cannot make a request yet:** {exc}\n\n{policy}"
    out = ["| setting | value | from |", "|---|---|---|"]
    out += [f"| {name} | `{value}` | {source} |" for name, value, source in rows]
    return "\n".join(out) + f"\n\n{policy}"


def served(session: Session) -> str:
    """What the provider lists: a local server's models, or a hosted provider's models that
    the catalog does not know yet ("" without usable settings)."""
    try:
        s = session.settings()
    except (GLMError, UsageError):  # no key, or a policy refusal: the table still helps
        return ""
    if s.provider.local:
        return served_section(s, session.transport)
    return listed_section(s, session.transport)


def _price(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def models_table(served: str = "") -> str:
    """Known models: window, output limit, price, thinking, images (after what is served)."""
    out = [
        "| model | context | max output | USD / 1M in | cached in | out | thinking | efforts "
        "| images | released |",
        "|---|---:|---:|---:|---:|---:|---|---|---|---|",
    ]
    for m in catalog.MODELS.values():
        thinking = "always on" if m.reasoning == "always" else "on / off"
        out.append(
            f"| {m.name} | {m.context:,} | {m.max_output:,} | {_price(m.input_price)} | "
            f"{_price(m.cached_price)} | {_price(m.output_price)} | {thinking} | "
            f"{', '.join(m.efforts) or '-'} | {'yes' if m.images else '-'} | {m.released or '-'} |"
        )
    sources = "\n".join(f"- {m.name}: {m.source}" for m in catalog.MODELS.values() if m.source)
    defaults = ", ".join(f"{p.name}: `{p.default_model}`" for p in PROVIDERS.values())
    table = (
        "\n".join(out)
        + f"\n\nDefault model per provider: {defaults}. `--effort low|medium|high|max` is "
        "fitted to each model's levels; on a model that always thinks, `--no-think` sends its "
        "lowest effort.\n\n<details><summary>Where the figures come from</summary>\n\n"
        f"{sources}\n\n</details>"
    )
    return f"{served}\n\n{table}" if served else table


def preview(session: Session, command: Command) -> str:
    """`%glm context`: exactly what a request with these flags would send; nothing is sent."""
    from ..context import images
    from ..context.tokens import estimate_tokens

    request = to_request(command.args, command.text or "(your question)")
    turn = session.preview(request)
    s, payload = turn.settings, turn.payload

    def tokens(m: Message) -> int:
        return estimate_tokens(m.content) + sum(images.tokens(i) for i in m.images)

    total = sum(tokens(m) for m in turn.messages)
    info = catalog.find(s.model, s.provider.name)
    window = ""
    if info is not None and info.context:
        share = total / info.context
        window = f", {'under 0.1%' if share < 0.001 else f'{share:.1%}'} of {s.model}'s " + (
            f"{info.context:,}-token window"
        )
    shown = turn.content + "".join(
        f"\n[picture: {p.label}, {images.sized(p)}]" for p in turn.images
    )
    body = json.dumps(_without_bytes(payload), indent=1, ensure_ascii=False)
    return (
        f"**Preview: nothing was sent.** This message would go to `{payload['model']}` after "
        f"the system prompt and {len(turn.messages) - 2} earlier message(s), about {total:,} "
        f"tokens in all{window} (this message: {tokens(turn.messages[-1]):,}).\n\n"
        f"{fenced(shown, 'text')}\n\n<details><summary>The whole request body</summary>\n\n"
        f"{fenced(body, 'json')}\n\n</details>"
    )


def _without_bytes(payload: dict[str, Any]) -> dict[str, Any]:
    """The body as a person reads it: each picture's base64 replaced by its size."""

    def part(p: Any) -> Any:
        url = p.get("image_url", {}).get("url", "") if isinstance(p, dict) else ""
        if not url.startswith("data:"):
            return p
        head, _, data = url.partition(",")
        return {**p, "image_url": {"url": f"{head},… ({len(data) * 3 // 4 // 1024:,} KB)"}}

    messages = [
        {**m, "content": [part(p) for p in m["content"]]} if isinstance(m["content"], list) else m
        for m in payload["messages"]
    ]
    return {**payload, "messages": messages}


def explain_request(command: Command, session: Session, *, fix: bool) -> Request:
    """The request behind `%glm explain` / `%glm fix`: the last error, or that of `--cell N`."""

    name = command.name
    numbers = command.args.cell_numbers
    if len(numbers) > 1:
        raise UsageError(f"%glm {name} takes one --cell; got {len(numbers)}.")
    log = session.log
    if numbers:
        record = log.cell(numbers[0]) if log is not None else None
        if record is None:
            raise UsageError(
                f"%glm {name} --cell {numbers[0]}: In [{numbers[0]}] has not run in this "
                "kernel, or is older than the last 50 cells it keeps. Run it again, then ask."
            )
        if record.error is None and not fix:
            raise UsageError(
                f"%glm explain --cell {numbers[0]}: In [{numbers[0]}] raised no error; "
                "ask about it with %%glm --cell N instead."
            )
    elif log is None or log.last_error is None:
        raise UsageError(f"%glm {name}: no cell has raised an error yet in this kernel.")
    else:
        record = None
    error = record.error if record is not None else None
    prompt = (FIX if error or record is None else FIX_CELL) if fix else EXPLAIN
    request = to_request(command.args, prompt)
    code = request.code if request.code is not None else (0 if fix else None)
    if record is not None and error is None:
        # `%glm fix --cell N` on a cell that ran cleanly: send the cell, ask for a better one.
        return dataclasses.replace(request, code=code)
    context = dataclasses.replace(request.context, cell_numbers=(), error=True, error_record=error)
    return dataclasses.replace(request, context=context, code=code)


def hint_request(command: Command, session: Session) -> Request:
    """The request behind `%glm hint [--cell N]` (target and level: see `core.teaching`)."""

    args = command.args
    if len(args.cell_numbers) > 1:
        raise UsageError(f"%glm hint takes one --cell; got {len(args.cell_numbers)}.")
    if args.agent or args.auto or args.json or args.schema or args.code is not None:
        raise UsageError("%glm hint answers in prose: drop --agent, --json, --schema and --code.")
    step = session.hints.next(session.log, args.cell_numbers[0] if args.cell_numbers else None)
    request = to_request(args, step.prompt())
    target = step.target.context
    context = dataclasses.replace(
        request.context, cell_numbers=target.cell_numbers, error_record=target.error_record
    )
    return dataclasses.replace(request, context=context, hint=step, notes=(step.note(),))


def export(agents: Agents, path: str) -> str:
    """`%glm export [PATH.ipynb]`: the approved code of the last agent run, in order."""
    run = agents.last
    steps = [step for step in (run.steps if run else []) if step.code is not None]
    if not steps:
        raise UsageError("%glm export: the last agent run ran no approved code to export.")
    if path:
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"Code from an agent run: {run.request.prompt}")]  # type: ignore[union-attr]
        nb.cells += [nbformat.v4.new_code_cell(step.code) for step in steps]
        nbformat.write(nb, path)
        return f"Wrote {len(steps)} code cell(s) to `{path}`."
    joined = "\n\n".join(f"# step {step.index}\n{step.code}" for step in steps)
    agents.session.shell.set_next_input(joined, replace=False)
    return f"Placed the code of {len(steps)} step(s) in a new cell below."


def runs_listing(folder: Path | None = None, limit: int = 20) -> tuple[str, str]:
    """`%glm runs`: the newest agent runs kept on disk, as Markdown and as plain text."""
    from ..agent.runlog import list_runs
    from ..config.paths import runs_dir
    from ..context.summaries.base import escape

    folder = runs_dir() if folder is None else folder
    runs = list_runs(folder, limit)
    if not runs:
        text = f"No agent runs yet. Each `%%glm --agent` run will be logged in `{folder}`."
        return text, text.replace("`", "")
    kept = sum(1 for _ in folder.glob("*.jsonl"))
    rows = [
        [r.id, f"{r.started:%Y-%m-%d %H:%M}", r.status, str(r.steps), r.model, r.question]
        for r in runs
    ]
    head = ["run", "started", "status", "steps", "model", "question"]
    table = [f"| {' | '.join(head)} |", "|---|---|---|---:|---|---|"]
    table += [f"| `{r[0]}` | " + " | ".join(escape(c) for c in r[1:]) + " |" for r in rows]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head) - 1)]
    plain = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in [head, *rows]
    ]
    shown = f"The newest {len(runs)} of {kept} runs. " if kept > len(runs) else ""
    notes = (
        f"{shown}Kept in `{folder}`, one `.jsonl` file per run: deleting a file deletes that "
        "run. `%glm resume ID` continues a run (the start of its ID is enough), "
        "`%glm resume` the newest."
    )
    return "\n".join(table) + "\n\n" + notes, "\n".join(plain) + "\n\n" + notes.replace("`", "")


def resume_request(command: Command) -> Request:
    """`%glm resume [flags] [ID]`: an agent request that goes on with a logged run."""
    from ..config.paths import looks_like_run_id

    run_id = command.text.strip()
    if run_id and not looks_like_run_id(run_id):
        raise UsageError(
            f"`%glm resume` takes a run's id (or its start), like 20261207-0915-3fa2; {run_id!r} "
            "is not one. `%glm runs` lists the runs."
        )
    # The run's transcript is the prompt: this text only stands where a request needs one.
    request = to_request(command.args, "Go on with the run.")
    return dataclasses.replace(request, agent=True, resume=run_id)


async def mcp(agents: Agents, text: str) -> None:
    """`%glm mcp add [--trusted] NAME -- COMMAND ARGS...`, `add [--trusted] NAME URL`, `list`,
    `remove NAME`."""
    import shlex

    from ..agent.mcp import McpServers

    if agents.mcp is None:
        agents.mcp = McpServers()
    words = shlex.split(text)
    verb = words[0]
    trusted = verb == "add" and "--trusted" in words[: words.index("--") if "--" in words else None]
    if trusted:
        words.remove("--trusted")
    if verb == "list":
        show(agents.mcp.describe())
    elif verb == "remove" and len(words) == 2:
        await agents.mcp.remove(words[1])
        show(f"Removed MCP server `{words[1]}`.")
    elif verb == "add" and len(words) >= 4 and words[2] == "--":
        tools = await agents.mcp.add(words[1], words[3:], trusted=trusted)
        show(_connected(words[1], tools, trusted))
    elif verb == "add" and len(words) == 3 and words[2].startswith(("http://", "https://")):
        tools = await agents.mcp.add(words[1], words[2], trusted=trusted)
        show(_connected(words[1], tools, trusted))
    else:
        raise UsageError(
            "Usage: %glm mcp add [--trusted] NAME -- COMMAND ARGS... | "
            "%glm mcp add [--trusted] NAME URL | %glm mcp list | %glm mcp remove NAME"
        )


def _connected(name: str, tools: list[Tool], trusted: bool) -> str:
    """The line after `%glm mcp add`: the tools, and which of them run without asking."""
    listed = ", ".join(t.name for t in tools) or "no tools"
    unasked = [t.name for t in tools if t.read_only]
    if unasked:
        note = f" Trusted: {', '.join(unasked)} (marked read-only by the server) run unasked."
    elif trusted:
        note = " Trusted, but no tool is marked read-only: every call asks first."
    else:
        note = " Every call asks for approval (--trusted lets tools it marks read-only skip it)."
    return f"Connected `{name}`: {listed}.{note}"
