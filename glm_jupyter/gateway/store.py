"""The gateway's database: issued tokens, every request's usage, per-day totals and the
budgets an instructor raised. SQLite by default, PostgreSQL by URL, through SQLAlchemy Core.

Blocking calls: the server runs them on worker threads (`asyncio.to_thread`), the command
line calls them directly. Every count is kept here, so restarting a kernel, a Jupyter server
or the gateway itself changes none of them.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..config.paths import GATEWAY_DB_ENV
from ..messages import Usage

TOKEN_PREFIX = "glmgw_"  # tells an issued token from a JupyterHub one at a glance

metadata = sa.MetaData()
tokens = sa.Table(
    "gateway_tokens",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # sha256 of the token: never the token
    sa.Column("student", sa.String(200), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
)
usage = sa.Table(
    "gateway_usage",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("student", sa.String(200), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("prompt_tokens", sa.Integer, nullable=False),
    sa.Column("completion_tokens", sa.Integer, nullable=False),
    sa.Column("cached_tokens", sa.Integer, nullable=False),
    sa.Column("reasoning_tokens", sa.Integer, nullable=False),
    sa.Column("cost_usd", sa.Float),
    sa.Column("outcome", sa.String(20), nullable=False),  # done, interrupted, error
    sa.Index("gateway_usage_student_day", "student", "day"),
)
daily = sa.Table(  # what the budget checks read: one row per student and day
    "gateway_daily",
    metadata,
    sa.Column("student", sa.String(200), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True, index=True),
    sa.Column("tokens", sa.BigInteger, nullable=False),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False),
)
budgets = sa.Table(  # an instructor's override of the policy's budgets for one student
    "gateway_budgets",
    metadata,
    sa.Column("student", sa.String(200), primary_key=True),
    sa.Column("tokens_per_day", sa.BigInteger),
    sa.Column("tokens_total", sa.BigInteger),
)


def default_url(env: Mapping[str, str] | None = None) -> str:
    """`GLM_GATEWAY_DB`, else a SQLite file in Jupyter's data directory."""
    env = os.environ if env is None else env
    named = env.get(GATEWAY_DB_ENV, "").strip()
    if named:
        return named
    from jupyter_core.paths import jupyter_data_dir

    return f"sqlite:///{Path(jupyter_data_dir()) / 'glm-gateway.sqlite3'}"


def digest(token: str) -> str:
    """How a token is kept: its SHA-256 (a leaked database gives no working token)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Spent:
    """Tokens counted so far: the student's today and in all, the whole course's today."""

    today: int
    total: int
    course_today: int


@dataclass(frozen=True, slots=True)
class Override:
    """A student's own budgets, set by the instructor (None: the policy's)."""

    tokens_per_day: int | None
    tokens_total: int | None


@dataclass(frozen=True, slots=True)
class Charge:
    """One request's row: who, which model, what the provider reported, how it ended."""

    student: str
    model: str
    used: Usage | None
    cost: float | None
    outcome: str  # done, interrupted, error, unreachable
    day: str
    at: float = field(default_factory=time.time)

    @property
    def tokens(self) -> int:
        """What the budgets count: tokens in and out."""
        return (self.used.prompt_tokens + self.used.completion_tokens) if self.used else 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a budget check or a token check reads, for the whole course at once."""

    day: str
    today: dict[str, int]  # tokens by student on `day`
    total: dict[str, int]  # tokens by student, all days
    overrides: dict[str, Override]
    tokens: dict[str, str]  # student by the digest of each live issued token
    course_today: int = 0  # the sum of `today`, taken once

    def position(self, student: str) -> tuple[Spent, Override]:
        """`student`'s counts on this snapshot's day, and their override."""
        spent = Spent(self.today.get(student, 0), self.total.get(student, 0), self.course_today)
        return spent, self.overrides.get(student) or Override(None, None)


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One line of `gateway usage`: a student's use of a model."""

    student: str
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None when some request's cost was not known


class Store:
    """The gateway's tables in one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        metadata.create_all(self.engine)

    def close(self) -> None:
        """Close the connection pool."""
        self.engine.dispose()

    # --- tokens --------------------------------------------------------------------------

    def issue_token(self, student: str) -> str:
        """A new token for `student` (shown once: only its digest is kept)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as db:
            db.execute(
                tokens.insert().values(
                    digest=digest(token), student=student, created_at=time.time(), revoked=False
                )
            )
        return token

    def revoke_tokens(self, student: str) -> int:
        """Revoke every token of `student`; how many were live."""
        with self.engine.begin() as db:
            done = db.execute(
                tokens.update()
                .where(tokens.c.student == student, tokens.c.revoked.is_(False))
                .values(revoked=True)
            )
        return int(done.rowcount)

    def student_for_token(self, token: str) -> str | None:
        """Whose live token this is, or None."""
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(tokens.c.student).where(
                    tokens.c.digest == digest(token), tokens.c.revoked.is_(False)
                )
            ).first()
        return None if row is None else str(row[0])

    def students_with_tokens(self) -> list[tuple[str, int]]:
        """Students with live tokens, and how many each has."""
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(tokens.c.student, sa.func.count())
                .where(tokens.c.revoked.is_(False))
                .group_by(tokens.c.student)
                .order_by(tokens.c.student)
            ).all()
        return [(str(s), int(n)) for s, n in rows]

    # --- usage ---------------------------------------------------------------------------

    def record(self, charges: Sequence[Charge]) -> None:
        """Requests' usage as the provider reported it (none: nothing is charged), and the
        students' totals for their days, in one transaction."""
        if not charges:
            return
        rows: list[dict[str, Any]] = []
        days: dict[tuple[str, str], tuple[int, int, float]] = {}
        for c in charges:
            used = c.used or Usage()
            rows.append(
                {
                    "at": c.at,
                    "day": c.day,
                    "student": c.student,
                    "model": c.model,
                    "prompt_tokens": used.prompt_tokens,
                    "completion_tokens": used.completion_tokens,
                    "cached_tokens": used.cached_tokens,
                    "reasoning_tokens": used.reasoning_tokens,
                    "cost_usd": c.cost,
                    "outcome": c.outcome,
                }
            )
            key = (c.student, c.day)
            tokens, requests, cost = days.get(key, (0, 0, 0.0))
            days[key] = (tokens + c.tokens, requests + 1, cost + (c.cost or 0.0))
        upsert = _insert(self.engine)
        upsert = upsert.on_conflict_do_update(
            index_elements=[daily.c.student, daily.c.day],
            set_={
                "tokens": daily.c.tokens + upsert.excluded.tokens,
                "requests": daily.c.requests + upsert.excluded.requests,
                "cost_usd": daily.c.cost_usd + upsert.excluded.cost_usd,
            },
        )
        totals = [
            {"student": s, "day": d, "tokens": t, "requests": n, "cost_usd": c}
            for (s, d), (t, n, c) in days.items()
        ]
        with self.engine.begin() as db:
            db.execute(usage.insert(), rows)
            db.execute(upsert, totals)

    def spent(self, student: str, day: str) -> Spent:
        """What `student` and the course have used, for the budget checks."""
        return self.position(student, day)[0]

    def position(self, student: str, day: str) -> tuple[Spent, Override]:
        """What a budget check reads: the counts and the student's override."""
        return self.snapshot(day).position(student)

    def snapshot(self, day: str) -> Snapshot:
        """The whole course's counts, overrides and live tokens, in one read."""
        by_student = sa.select(daily.c.student, sa.func.sum(daily.c.tokens))
        with self.engine.connect() as db:
            total = db.execute(by_student.group_by(daily.c.student)).all()
            today = db.execute(sa.select(daily.c.student, daily.c.tokens).where(daily.c.day == day))
            own = db.execute(
                sa.select(budgets.c.student, budgets.c.tokens_per_day, budgets.c.tokens_total)
            ).all()
            live = db.execute(
                sa.select(tokens.c.digest, tokens.c.student).where(tokens.c.revoked.is_(False))
            ).all()
            on_day = {str(s): int(n) for s, n in today}
            return Snapshot(
                day,
                on_day,
                {str(s): int(n or 0) for s, n in total},
                {str(s): Override(_int(d), _int(t)) for s, d, t in own},
                {str(d): str(s) for d, s in live},
                sum(on_day.values()),
            )

    def usage_rows(self, *, day: str | None = None, student: str | None = None) -> list[UsageRow]:
        """Use per student and model, all time or on one day."""
        cost_known = sa.func.min(sa.case((usage.c.cost_usd.is_(None), 0), else_=1))
        query = sa.select(
            usage.c.student,
            usage.c.model,
            sa.func.count(),
            sa.func.sum(usage.c.prompt_tokens),
            sa.func.sum(usage.c.completion_tokens),
            sa.func.sum(usage.c.cost_usd),
            cost_known,
        ).group_by(usage.c.student, usage.c.model)
        if day is not None:
            query = query.where(usage.c.day == day)
        if student is not None:
            query = query.where(usage.c.student == student)
        with self.engine.connect() as db:
            rows = db.execute(query.order_by(usage.c.student, usage.c.model)).all()
        return [
            UsageRow(
                str(s),
                str(m),
                int(n),
                int(p or 0),
                int(c or 0),
                float(cost or 0) if known else None,
            )
            for s, m, n, p, c, cost, known in rows
        ]

    # --- budgets -------------------------------------------------------------------------

    def override(self, student: str) -> Override:
        """The instructor's budgets for `student` (both None when there are none)."""
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(budgets.c.tokens_per_day, budgets.c.tokens_total).where(
                    budgets.c.student == student
                )
            ).first()
        if row is None:
            return Override(None, None)
        return Override(_int(row[0]), _int(row[1]))

    def set_override(self, student: str, override: Override) -> None:
        """Give `student` budgets of their own (None: back to the policy's); live at once."""
        values: dict[str, Any] = {
            "tokens_per_day": override.tokens_per_day,
            "tokens_total": override.tokens_total,
        }
        with self.engine.begin() as db:
            db.execute(
                _insert(self.engine, budgets)
                .values(student=student, **values)
                .on_conflict_do_update(index_elements=[budgets.c.student], set_=values)
            )


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _insert(engine: sa.Engine, table: sa.Table = daily) -> Any:
    """An INSERT that can say ON CONFLICT, in the engine's own dialect."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(
        f"The gateway keeps its data in SQLite or PostgreSQL, not {engine.dialect.name}."
    )


def _engine(url: str) -> sa.Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ValueError(
            f"{url!r} is not a database URL: use sqlite:///path/to/file.sqlite3 or "
            "postgresql+psycopg://user:password@host/dbname."
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"The gateway keeps its data in SQLite or PostgreSQL, not {parsed.get_backend_name()}."
        )
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _wal(connection: Any, _record: Any) -> None:
            # Readers never wait for the writer, and many streams end at once.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")

        return engine
    return sa.create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True)
