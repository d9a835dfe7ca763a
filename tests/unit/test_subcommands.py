"""`%glm` subcommands come from one table: dispatch, `%glm help` and `%glm?` all read it."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError

from glm_jupyter.ipython import commands, magics, subcommands
from glm_jupyter.ipython.commands import Command
from glm_jupyter.ipython.subcommands import SUBCOMMANDS

from ..helpers import use
from .test_magics import run

NAMES = list(SUBCOMMANDS)


@pytest.fixture
def glm_magics(shell: Any) -> Any:
    from glm_jupyter.ipython.extension import _ACTIVE

    return _ACTIVE[id(shell)]


def test_help_lists_every_subcommand_with_its_arguments_and_help() -> None:
    text = subcommands.help_text("USAGE")
    for sub in SUBCOMMANDS.values():
        assert f"- `%glm {sub.name}`{' ' + sub.takes.shown if sub.takes.shown else ''}: " in text
        assert sub.help in text
    assert text.endswith("```\nUSAGE\n```")


def test_the_magic_docstring_names_the_table() -> None:
    doc = magics.GLMMagics.glm_line.__doc__ or ""
    assert doc.endswith("Subcommands: " + ", ".join(f"`{n}`" for n in NAMES) + ".")
    assert "subcommands.SUBCOMMANDS" in (magics.__doc__ or "")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("reset", Command("reset")),
        ("history", Command("history")),
        ("usage", Command("usage")),
        ("config", Command("config")),
        ("models", Command("models")),
        ("help", Command("help")),
        ("autoexplain", Command("autoexplain")),
        ("autoexplain on", Command("autoexplain", "on")),
        ("autoexplain  off ", Command("autoexplain", "off")),
        ("export", Command("export")),
        ("export run.ipynb", Command("export", "run.ipynb")),
        ("mcp list", Command("mcp", "list")),
        ("mcp add s -- python s.py", Command("mcp", "add s -- python s.py")),
        ("mcp remove s", Command("mcp", "remove s")),
        ("explain", "explain"),
        ("fix --cell 3", "fix"),
        ("hint", "hint"),
        ("context", "context"),
        ("context --df sales Is it seasonal?", "context"),
        # Not the subcommand's own arguments: a prompt.
        ("help me read a CSV", None),
        ("reset the index how?", None),
        ("autoexplain decorators", None),
        ("export my data as CSV", None),
        ("mcp servers: what are they?", None),
        ("explain decorators briefly", None),
        ("fix --cell 3 and say why", None),
        ("context of this function?", None),
        ("-- help", None),
        ("bogus", None),
    ],
)
def test_lines_are_told_apart(glm_magics: Any, line: str, expected: Any) -> None:
    parsed = glm_magics.line_request(line)
    if expected is None:
        assert not isinstance(parsed, Command)
        assert parsed.prompt
    elif isinstance(expected, str):
        assert isinstance(parsed, Command)
        assert parsed.name == expected
        assert parsed.args is not None  # flags parsed for it
    else:
        assert parsed == expected


def test_flag_subcommands_keep_their_question(glm_magics: Any) -> None:
    parsed = glm_magics.line_request("context --df sales --budget 300 Is it seasonal?")
    assert (parsed.text, parsed.args.df, parsed.args.summary_tokens) == (
        "Is it seasonal?",
        ["sales"],
        300,
    )


def test_an_unknown_subcommand_is_a_usage_error(glm_magics: Any) -> None:
    with pytest.raises(UsageError, match="has no subcommand 'bogus'"):
        subcommands.run(Command("bogus"), glm_magics.front)


async def test_an_unknown_subcommand_is_a_usage_error_on_the_loop(glm_magics: Any) -> None:
    with pytest.raises(UsageError, match="has no subcommand 'bogus'"):
        await subcommands.run_async(Command("bogus"), glm_magics.front)


def test_mcp_on_the_synchronous_path_says_it_needs_the_loop(shell: Any) -> None:
    ran = run(shell, "%glm mcp list")
    assert type(ran.result.error_in_exec).__name__ == "UsageError"
    assert "needs a Jupyter kernel with autoawait on" in str(ran.result.error_in_exec)


async def test_mcp_runs_on_the_loop(glm_magics: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    async def fake(session: Any, text: str) -> None:
        calls.append(text)

    monkeypatch.setattr(commands, "mcp", fake)
    await glm_magics.glm_line_async("mcp add s -- python s.py")
    assert calls == ["add s -- python s.py"]


def test_only_mcp_needs_the_loop() -> None:
    assert [sub.name for sub in SUBCOMMANDS.values() if sub.run_async] == ["mcp"]


async def test_sync_subcommands_also_run_on_the_loop(shell: Any, simulator: Any) -> None:
    from IPython.utils.capture import capture_output

    from glm_jupyter.ipython.extension import _ACTIVE

    sim = simulator()
    use(shell, sim)
    with capture_output() as captured:
        await _ACTIVE[id(shell)].glm_line_async("help")
    assert "`%glm hint`" in captured.outputs[0].data["text/markdown"]
    assert sim.requests == []
