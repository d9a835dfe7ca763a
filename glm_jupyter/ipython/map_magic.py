"""`%%glm --map COLUMN --df NAME -o OUT`: the cell's prompt over every row of a DataFrame.

`{column}` placeholders in the prompt fill from each row; with none, COLUMN's value follows the
prompt. The model, provider, thinking, temperature, max-tokens, system, --json and --schema
flags apply as for any `%%glm` cell; flags that make no sense for a batch are refused with what
to do instead.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..batch.options import BatchOptions
from ..batch.run import Run

if TYPE_CHECKING:
    from ..core.session import Session

_CONTEXT = "--map sends each row on its own, without kernel context"
# (are such flags on the line?, why they cannot go with --map and what to do instead)
_REFUSED: list[tuple[Any, str]] = [
    (
        lambda a: (
            a.agent
            or a.auto
            or a.max_steps is not None
            or a.max_time is not None
            or a.max_cost is not None
        ),
        "--map asks one question per row and stores the answers; --agent runs tools in this "
        "kernel until a task is done. Drop --agent/--auto/--max-steps/--time/--max-cost, or "
        "loop over the rows "
        "yourself with %%glm --agent.",
    ),
    (
        lambda a: a.code is not None,
        "--map stores every answer in -o; --code places one answer's code in the next cell. "
        "Drop --code and take the code from the results.",
    ),
    (
        lambda a: a.var or a.cells is not None or a.cell_numbers or a.error or a.notebook,
        f"{_CONTEXT}: drop --var/--cells/--cell/--error/--notebook and write what every row "
        "needs into the prompt.",
    ),
    (
        lambda a: a.send_rows is False or a.summary_tokens is not None,
        "--map sends each row's values (that is its point) and no summaries: drop --no-rows "
        "and --budget.",
    ),
]


def _prepare(session: Session, args: Any, prompt: str) -> tuple[Run, str]:
    """The batch a `--map` cell asks for, checked; and the variable to store it in."""
    for present, advice in _REFUSED:
        if present(args):
            raise UsageError(advice)
    if len(args.df) != 1:
        raise UsageError(
            "--map needs exactly one --df NAME: the DataFrame whose rows to run over "
            f"(got {len(args.df)})."
        )
    if not args.out or not args.out.isidentifier():
        raise UsageError(
            "--map needs -o NAME: the variable that receives the results, aligned with the "
            "DataFrame's rows."
        )
    if not prompt.strip():
        raise UsageError("There is no prompt to send: write it in the cell below the flags.")
    shell = session.shell
    namespace = shell.user_ns if shell is not None else {}
    frame = _lookup(namespace, args.df[0], "--df")
    if type(frame).__module__.split(".")[0] not in ("pandas", "polars"):
        raise UsageError(
            f"--df {args.df[0]} is a {type(frame).__name__}; --map runs over a pandas or polars "
            "DataFrame (or Series)."
        )
    schema = _lookup(namespace, args.schema, "--schema") if args.schema else None
    try:
        options = BatchOptions(
            schema=schema,
            json=args.json,
            column=args.map,
            model=args.model,
            provider=args.provider,
            temperature=args.temperature,
            thinking=args.thinking,
            max_tokens=args.max_tokens,
            system=args.system,
            given_as="flag",
        )
        run = Run(prompt, frame, options, pipeline=session.pipeline)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    return run, args.out


def _lookup(namespace: dict[str, Any], name: str, flag: str) -> Any:
    if name not in namespace:
        raise UsageError(f"{flag} {name}: there is no variable named {name!r} in this kernel.")
    return namespace[name]


def _deliver(session: Session, out: str, result: Any) -> None:
    if session.shell is not None:
        session.shell.user_ns[out] = result
    from IPython import display as ipd

    shown: Any = ipd  # untyped
    rows = len(result)
    shown.display(
        shown.Markdown(f"Stored in `{out}` ({rows:,} rows){'; the first 5:' if rows else '.'}")
    )
    if rows:
        shown.display(result.head())


def run_map(session: Session, args: Any, prompt: str) -> None:
    """The synchronous path (terminal IPython, `run_cell_magic`, `%autoawait off`)."""
    run, out = _prepare(session, args, prompt)
    _deliver(session, out, run.blocking())


async def run_map_async(session: Session, args: Any, prompt: str) -> None:
    """The kernel path: the batch runs on the kernel's loop, so the widgets stay live."""
    run, out = _prepare(session, args, prompt)
    try:
        result = await run.awaiting()
    except asyncio.CancelledError:
        # An interrupt arrives as a cancellation; as for any cell, it should read as one.
        raise KeyboardInterrupt from None
    _deliver(session, out, result)
