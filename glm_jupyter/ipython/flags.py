"""The flags of `%glm` and `%%glm`: the parser, splitting a line into flags and prompt, and the
request they make."""

from __future__ import annotations

import contextlib
import functools
import re
import shlex
from collections.abc import Iterator
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from ..config.catalog import EFFORTS
from ..config.settings import SETTING_NAMES
from ..core.request import ContextRequest, Request
from ..durations import parse_duration
from ..errors import InputError

# Flags whose value is optional: on a `%glm` line they take the next word only if it fits.
_OPTIONAL_VALUE = {"--code": re.compile(r"\d+"), "--notebook": re.compile(r".+\.ipynb")}
_TOKEN = re.compile(r"""(?:"(?:\\.|[^"])*"|'[^']*'|\S)+""")


@magic_arguments()
@argument("-m", "--model", help="Model id, e.g. glm-5.3, glm-5.4, glm-5v-turbo, glm-4.7-flash.")
@argument(
    "-p",
    "--provider",
    help="zai, zai-coding, bigmodel, bigmodel-coding, openrouter, oxen, "
    "gateway, vllm, sglang, ollama, llamacpp, openai-compatible.",
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
@argument(
    "--effort",
    type=str.lower,
    choices=EFFORTS,
    help="Reasoning effort: low, medium, high or max (fitted to the levels the model has).",
)
@argument("-t", "--temperature", type=float, help="Sampling temperature (0 to 1 on Z.ai).")
@argument("--max-tokens", type=int, help="Cap on output tokens.")
@argument("-s", "--system", help="System prompt (starts a new conversation to take effect).")
@argument(
    "--tutor",
    dest="persona",
    action="store_const",
    const="tutor",
    help="Tutor persona: questions and hints before full solutions.",
)
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
@argument(
    "--df",
    action="append",
    default=[],
    metavar="NAME",
    help="Send a summary of this DataFrame (repeatable).",
)
@argument(
    "--var",
    action="append",
    default=[],
    metavar="NAME",
    help="Send a summary of this variable (repeatable).",
)
@argument("--cells", type=int, metavar="N", help="Send the last N executed cells and outputs.")
@argument(
    "--cell",
    action="append",
    default=[],
    type=int,
    metavar="N",
    dest="cell_numbers",
    help="Send cell In [N]: its source, outputs and any error it raised (repeatable).",
)
@argument("--error", action="store_true", help="Send the last error, its traceback and cell.")
@argument(
    "--image",
    action="append",
    default=[],
    metavar="NAME",
    dest="images",
    help="Send a picture to a model that sees: a matplotlib figure, a PIL image, PNG/JPEG "
    "bytes or a file path (repeatable).",
)
@argument("--figure", action="store_true", help="Send the last picture a cell displayed.")
@argument(
    "--notebook",
    nargs="?",
    const="",
    metavar="PATH",
    help="Send the saved notebook (this one without PATH).",
)
@argument(
    "--no-rows",
    dest="send_rows",
    action="store_const",
    const=False,
    default=None,
    help="Send schema and statistics only: no cell values.",
)
@argument(
    "--budget",
    type=int,
    metavar="TOKENS",
    dest="summary_tokens",
    help="Token budget for each summarised object (default 1500; 3000 on 1M-token windows).",
)
@argument(
    "--schema",
    metavar="NAME",
    help="Validate the answer against this JSON-schema dict, "
    "dataclass, TypedDict or pydantic model (implies --json).",
)
@argument(
    "--code",
    nargs="?",
    const=0,
    type=int,
    metavar="N",
    help="Put the answer's code block (block N) in the next cell.",
)
@argument(
    "-a",
    "--agent",
    action="store_true",
    help="Agent mode: the model may run code and tools in this kernel, with approval.",
)
@argument("--auto", action="store_true", help="Agent mode without approval (implies --agent).")
@argument(
    "--max-steps", type=int, metavar="N", help="Most tool-calling turns (default 20; 0: no limit)."
)
@argument(
    "--time",
    dest="max_time",
    metavar="DURATION",
    help='Longest time the agent run may take: "2h", "90m", "45s".',
)
@argument(
    "--max-cost",
    dest="max_cost",
    type=float,
    metavar="USD",
    help="Most USD the agent run may spend.",
)
@argument(
    "--map",
    metavar="COLUMN",
    help="Batch: ask the cell's prompt about every row of the --df DataFrame ({column} "
    "placeholders fill from the row; with none, COLUMN's value follows the prompt); "
    "-o stores the aligned results.",
)
def glm(line: str = "", cell: str | None = None) -> None:
    """%%glm [flags] then the prompt in the cell; %glm [flags] PROMPT; %glm SUBCOMMAND."""


USAGE = glm.parser.format_help()


@contextlib.contextmanager
def one_line() -> Iterator[None]:
    """Bad input (a wrong flag, a classroom limit) shown as one line, the way IPython shows it."""
    try:
        yield
    except InputError as exc:
        # Exactly UsageError: IPython prints that one as a single line, anything else (a
        # subclass too) with a traceback. The original stays as the cause for code that asks.
        raise UsageError(str(exc)) from exc


def parse(flag_text: str) -> Any:
    # shlex, not IPython's arg_split: `-s 'Be terse.'` must arrive without its quotes.
    try:
        return glm.parser.parse_args(shlex.split(flag_text))
    except ValueError as exc:  # unbalanced quotes
        raise UsageError(f"Could not read the flags: {exc}.\n\n{USAGE}") from None
    except UsageError as exc:
        raise UsageError(f"{exc}\n\n{USAGE}") from None


@functools.cache
def _value_flags() -> frozenset[str]:
    """Flags that take exactly one value (the next word), read off the parser itself."""
    actions = glm.parser._actions
    return frozenset(opt for a in actions if a.nargs is None for opt in a.option_strings)


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
        i += 2 if word.split("=")[0] in _value_flags() and "=" not in word else 1
        optional = _OPTIONAL_VALUE.get(word)
        if optional and i < len(tokens) and optional.fullmatch(tokens[i].group()):
            i += 1
    if i >= len(tokens):
        return line, ""
    return line[: tokens[i].start()], line[tokens[i].start() :].strip()


def _looks_negative_number(word: str) -> bool:
    return bool(re.fullmatch(r"-\d+(\.\d+)?", word))


def tidy(cell: str) -> str:
    """The cell's text without trailing whitespace or leading blank lines (indentation kept)."""
    return cell.rstrip().lstrip("\n")


def to_request(args: Any, prompt: str) -> Request:
    """Flags and prompt as a session request."""
    if args.out is not None and not args.out.isidentifier():
        raise UsageError(f"-o needs a Python variable name; {args.out!r} is not one.")
    if not prompt.strip():
        raise UsageError(f"There is no prompt to send.\n\n{USAGE}")
    if args.summary_tokens is not None and args.summary_tokens < 200:
        raise UsageError(f"--budget needs at least 200 tokens; got {args.summary_tokens}.")
    # A flag whose `dest` names a `GLM` setting overrides that setting.
    flags = {name: value for name, value in vars(args).items() if name in SETTING_NAMES}
    context = ContextRequest(
        dataframes=tuple(args.df),
        variables=tuple(args.var),
        cells=args.cells,
        cell_numbers=tuple(args.cell_numbers),
        error=args.error,
        notebook=args.notebook,
        images=tuple(args.images),
        figure=args.figure,
    )
    if args.max_steps is not None and args.max_steps < 0:
        raise UsageError(f"--max-steps needs 0 (no limit) or more; got {args.max_steps}.")
    if args.max_time is not None:
        try:
            parse_duration(args.max_time)
        except ValueError as exc:
            raise UsageError(f"--time: {exc}") from None
    if args.max_cost is not None and args.max_cost <= 0:
        raise UsageError(f"--max-cost needs an amount of USD above 0; got {args.max_cost}.")
    if args.map is not None:
        raise UsageError(
            "--map runs a batch from a %%glm cell: the flags on its first line, the prompt below."
        )
    agent = args.agent or args.auto
    if agent and (args.json or args.schema or args.code is not None):
        raise UsageError("--agent answers in prose: drop --json, --schema and --code with it.")
    return Request(
        prompt=prompt,
        flags=flags,
        out=args.out,
        json=args.json or args.schema is not None,
        new=args.new,
        context=context,
        schema=args.schema,
        code=args.code,
        agent=agent,
        auto=args.auto,
        max_steps=args.max_steps,
    )
