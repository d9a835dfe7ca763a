"""`glm-jupyter gateway ...`: serve, issue and revoke tokens, show usage, set a student's
budget. The instructor's commands work on the database directly, so they need no running
gateway, and what they change holds within a second for every gateway process on it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.paths import GATEWAY_DB_ENV
from ..errors import GLMError

if TYPE_CHECKING:  # the database library loads only for the commands that use it
    from .store import Override, Store, UsageRow


def add_parser(sub: Any) -> None:
    """The `gateway` command and its subcommands."""
    gateway = sub.add_parser(
        "gateway",
        help="the course gateway: the course's key, students' tokens, budgets in a database",
        description=__doc__,
    )
    gateway.add_argument(
        "--db",
        default=None,
        help=f"database URL (${GATEWAY_DB_ENV}, else SQLite in Jupyter's data dir)",
    )
    commands = gateway.add_subparsers(dest="gateway_command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--provider", help="the provider to forward to ($GLM_PROVIDER, else zai)")
    serve.add_argument("--base-url", help="its URL ($GLM_BASE_URL, else the provider's)")
    serve.add_argument("--policy", type=Path, help="classroom policy file ($GLM_POLICY, ...)")
    serve.add_argument("--host", help="address ($JUPYTERHUB_SERVICE_URL's, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port ($JUPYTERHUB_SERVICE_URL's, else 8765)")

    token = commands.add_parser("token", help="tokens for students without JupyterHub")
    tokens = token.add_subparsers(dest="token_command", required=True)
    issue = tokens.add_parser("issue", help="issue a token for each student named")
    issue.add_argument("students", nargs="+")
    revoke = tokens.add_parser("revoke", help="revoke every token of each student named")
    revoke.add_argument("students", nargs="+")
    tokens.add_parser("list", help="students with live tokens")

    usage = commands.add_parser("usage", help="usage per student and model, with cost")
    usage.add_argument(
        "--day", help="one day only: YYYY-MM-DD, or 'today' (in the policy's time zone)"
    )
    usage.add_argument("--policy", type=Path, help="the policy file whose time zone 'today' is in")
    usage.add_argument("--student", help="one student only")
    usage.add_argument("--json", action="store_true", help="rows as JSON")

    budget = commands.add_parser("budget", help="show or set a student's budgets (live)")
    budget.add_argument("student")
    budget.add_argument("--per-day", type=_tokens, help="tokens per day ('policy': its default)")
    budget.add_argument("--total", type=_tokens, help="tokens in all ('policy': its default)")


_POLICY = -1  # `--per-day policy`: back to the policy's budget


def _tokens(text: str) -> int:
    if text.strip().lower() == "policy":
        return _POLICY
    value = int(text.replace(",", "").replace("_", ""))
    if value < 0:
        raise argparse.ArgumentTypeError("a budget is a number of tokens, 0 or more")
    return value


_EXTRA = "The gateway needs its extra: pip install 'glm-jupyter[gateway]'"


def _absent(find: Any, module: str) -> bool:
    try:
        return find(module) is None
    except ValueError:  # in sys.modules as None: blocked
        return True


def run(args: argparse.Namespace) -> int:
    """Carry out one `gateway` subcommand."""
    import importlib.util

    missing = [m for m in ("aiohttp", "sqlalchemy") if _absent(importlib.util.find_spec, m)]
    if missing:
        print(f"glm-jupyter gateway: {_EXTRA} ({', '.join(missing)} missing).", file=sys.stderr)
        return 2
    from .store import Store, default_url

    url = args.db or default_url()
    try:
        if args.gateway_command == "serve":
            return _serve(args, url)
        store = Store(url)
    except ValueError as exc:
        print(f"glm-jupyter gateway: {exc}", file=sys.stderr)
        return 2
    try:
        if args.gateway_command == "token":
            return _token(args, store)
        if args.gateway_command == "usage":
            return _usage(args, store)
        return _budget(args, store)
    except GLMError as exc:  # a policy file that cannot be used, say
        print(f"glm-jupyter gateway: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()


def _serve(args: argparse.Namespace, url: str) -> int:
    from ..errors import ConfigurationError
    from .serve import build, listen, main

    try:
        gateway = build(
            provider=args.provider,
            base_url=args.base_url,
            db=url,
            policy=args.policy,
            env=os.environ,
        )
    except (ConfigurationError, ValueError) as exc:
        print(f"glm-jupyter gateway: {exc}", file=sys.stderr)
        return 2
    return main(gateway, listen(args.host, args.port, os.environ))


def _token(args: argparse.Namespace, store: Store) -> int:
    if args.token_command == "issue":
        for student in args.students:
            print(f"{student}\t{store.issue_token(student)}")
        print(
            "Each student sets GLM_GATEWAY_TOKEN to their token (shown only now).",
            file=sys.stderr,
        )
    elif args.token_command == "revoke":
        for student in args.students:
            print(f"{student}\t{store.revoke_tokens(student)} token(s) revoked")
    else:
        for student, count in store.students_with_tokens():
            print(f"{student}\t{count}")
    return 0


def _usage(args: argparse.Namespace, store: Store) -> int:
    day = args.day
    if day == "today":
        from .budget import Clock
        from .serve import policy_source

        policy = policy_source(args.policy, os.environ).current()
        day = Clock(policy.timezone if policy is not None else "UTC").day()
    rows = store.usage_rows(day=day, student=args.student)
    if args.json:
        print(json.dumps([_row(r) for r in rows]))
        return 0
    print(_table(rows))
    return 0


def _row(row: UsageRow) -> dict[str, Any]:
    return {
        "student": row.student,
        "model": row.model,
        "requests": row.requests,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "cost_usd": row.cost_usd,
    }


def _table(rows: list[UsageRow]) -> str:
    head = ("student", "model", "requests", "prompt", "completion", "cost")
    lines = [
        (
            r.student,
            r.model,
            f"{r.requests:,}",
            f"{r.prompt_tokens:,}",
            f"{r.completion_tokens:,}",
            "unknown" if r.cost_usd is None else f"${r.cost_usd:,.4f}",
        )
        for r in rows
    ]
    if not lines:
        return "No usage recorded yet."
    widths = [max(len(x[i]) for x in (head, *lines)) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True))]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)


def _budget(args: argparse.Namespace, store: Store) -> int:
    from .store import Override

    current = store.override(args.student)
    if args.per_day is None and args.total is None:
        print(_describe(args.student, current))
        return 0

    def pick(value: int | None, old: int | None) -> int | None:
        return old if value is None else (None if value == _POLICY else value)

    new = Override(
        pick(args.per_day, current.tokens_per_day), pick(args.total, current.tokens_total)
    )
    store.set_override(args.student, new)
    print(_describe(args.student, new))
    return 0


def _describe(student: str, o: Override) -> str:
    def one(value: int | None) -> str:
        return "the policy's" if value is None else f"{value:,} tokens"

    return f"{student}: per day {one(o.tokens_per_day)}, in all {one(o.tokens_total)}"
