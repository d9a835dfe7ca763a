"""`%glm` and `%%glm`: parse flags, pick a subcommand or a prompt, delegate to the session.

The rule that keeps subcommands and prompts apart: a `%glm` line is a subcommand only when it
is exactly one subcommand word (`reset`, `history`, `usage`, `config`, `models`, `help`) with
nothing after it. Anything else is a prompt. To ask the one-word prompt "help", write
`%glm -- help`.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from . import commands
from .runner import Request, Session

SUBCOMMANDS = ("reset", "history", "usage", "config", "models", "help")
_VALUE_FLAGS = {
    "-m",
    "--model",
    "-p",
    "--provider",
    "-t",
    "--temperature",
    "--max-tokens",
    "-s",
    "--system",
    "-o",
    "--out",
}
_TOKEN = re.compile(r"""(?:"(?:\\.|[^"])*"|'[^']*'|\S)+""")


@magic_arguments()
@argument("-m", "--model", help="Model id, e.g. glm-5.1, glm-5, glm-4.7-flash.")
@argument(
    "-p",
    "--provider",
    help="zai, zai-coding, bigmodel, bigmodel-coding, openrouter, oxen, "
    "vllm, sglang, ollama, llamacpp, openai-compatible.",
)
@argument(
    "--think",
    dest="thinking",
    action="store_const",
    const=True,
    default=None,
    help="Turn thinking on.",
)
@argument(
    "--no-think", dest="thinking", action="store_const", const=False, help="Turn thinking off."
)
@argument("-t", "--temperature", type=float, help="Sampling temperature (0 to 1 on Z.ai).")
@argument("--max-tokens", type=int, help="Cap on output tokens.")
@argument("-s", "--system", help="System prompt (starts a new conversation to take effect).")
@argument(
    "-o",
    "--out",
    metavar="NAME",
    help="Store the answer (with --json: the parsed object) in this variable.",
)
@argument(
    "--json", action="store_true", help="Ask for a JSON object (response_format json_object)."
)
@argument("--new", action="store_true", help="Start a fresh conversation.")
def glm(line: str = "", cell: str | None = None) -> None:
    """%%glm [flags] then the prompt in the cell; %glm [flags] PROMPT; %glm SUBCOMMAND."""


USAGE = glm.parser.format_help()


def _parse(flag_text: str) -> Any:
    # shlex, not IPython's arg_split: `-s 'Be terse.'` must arrive without its quotes.
    try:
        return glm.parser.parse_args(shlex.split(flag_text))
    except ValueError as exc:  # unbalanced quotes
        raise UsageError(f"Could not read the flags: {exc}.\n\n{USAGE}") from None
    except UsageError as exc:
        raise UsageError(f"{exc}\n\n{USAGE}") from None


def split_line(line: str) -> tuple[str, str]:
    """Split a `%glm` line into its leading flags and the prompt text, kept exactly as written."""
    tokens = list(_TOKEN.finditer(line))
    i = 0
    while i < len(tokens):
        word = tokens[i].group()
        if word == "--":
            rest = line[tokens[i].end() :].strip()
            return line[: tokens[i].start()], rest
        if not word.startswith("-") or _looks_negative_number(word):
            break
        i += 2 if word.split("=")[0] in _VALUE_FLAGS and "=" not in word else 1
    if i >= len(tokens):
        return line, ""
    return line[: tokens[i].start()], line[tokens[i].start() :].strip()


def _looks_negative_number(word: str) -> bool:
    return bool(re.fullmatch(r"-\d+(\.\d+)?", word))


def _tidy(cell: str) -> str:
    """The cell's text without trailing whitespace or leading blank lines (indentation kept)."""
    return cell.rstrip().lstrip("\n")


def to_request(args: Any, prompt: str) -> Request:
    """Flags and prompt as a session request."""
    if args.out is not None and not args.out.isidentifier():
        raise UsageError(f"-o needs a Python variable name; {args.out!r} is not one.")
    if not prompt.strip():
        raise UsageError(f"There is no prompt to send.\n\n{USAGE}")
    flags = {
        "model": args.model,
        "provider": args.provider,
        "thinking": args.thinking,
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "system": args.system,
    }
    return Request(prompt=prompt, flags=flags, out=args.out, json=args.json, new=args.new)


@magics_class
class GLMMagics(Magics):
    """The `%glm` line magic and `%%glm` cell magic."""

    def __init__(self, shell: Any, session: Session) -> None:
        super().__init__(shell)
        self.session = session

    # --- parsing -------------------------------------------------------------------------------

    def cell_request(self, line: str, cell: str) -> Request:
        """A `%%glm` cell as a request: flags on the line, the prompt in the body."""
        flags, extra = split_line(line)
        if extra:
            raise UsageError(
                f"%%glm takes only flags on its first line; the prompt goes in the cell body "
                f"(got {extra!r}).\n\n{USAGE}"
            )
        return to_request(_parse(flags), _tidy(cell))

    def line_request(self, line: str) -> Request | str:
        """A `%glm` line: a subcommand name, or a request."""
        stripped = line.strip()
        if stripped in SUBCOMMANDS:
            return stripped
        flags, prompt = split_line(line)
        return to_request(_parse(flags), prompt)

    # --- magics --------------------------------------------------------------------------------

    @cell_magic("glm")  # type: ignore[arg-type]
    def glm_cell(self, line: str, cell: str) -> None:
        """Ask GLM the cell's text; flags on the first line (see `%glm help`)."""
        self.session.ask(self.cell_request(line, cell))

    @line_magic("glm")  # type: ignore[arg-type]
    def glm_line(self, line: str) -> None:
        """`%glm PROMPT` asks; `%glm reset|history|usage|config|models|help` manage the session."""
        parsed = self.line_request(line)
        if isinstance(parsed, str):
            commands.run(parsed, self.session, USAGE)
        else:
            self.session.ask(parsed)

    async def glm_cell_async(self, line: str, cell: str) -> None:
        """`%%glm` as a coroutine on the kernel's loop (what the input transformer calls)."""
        await self.session.ask_async(self.cell_request(line, cell))

    async def glm_line_async(self, line: str) -> None:
        """`%glm` as a coroutine on the kernel's loop."""
        parsed = self.line_request(line)
        if isinstance(parsed, str):
            commands.run(parsed, self.session, USAGE)
        else:
            await self.session.ask_async(parsed)
