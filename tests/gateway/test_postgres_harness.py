"""The PostgreSQL harness: a real server that SQLAlchemy reaches over TCP with a password."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from .postgres import postgres


def _connects(url: str | sa.URL) -> None:
    """Open and close one connection, letting the driver's error through."""
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def test_server_stores_and_returns_rows(tmp_path: Path) -> None:
    """Rows written through the URL come back; a wrong password and a stopped server fail."""
    with postgres(tmp_path) as url:
        assert url.startswith("postgresql+psycopg://glm:")
        assert "@127.0.0.1:" in url
        engine = sa.create_engine(url)
        try:
            metadata = sa.MetaData()
            notes = sa.Table(
                "notes",
                metadata,
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("body", sa.Text, nullable=False),
            )
            metadata.create_all(engine)
            with engine.begin() as conn:
                conn.execute(sa.insert(notes), [{"body": "α"}, {"body": "β"}])
            with engine.connect() as conn:
                rows = conn.execute(sa.select(notes.c.body).order_by(notes.c.id)).all()
                database = conn.execute(sa.select(sa.func.current_database())).scalar_one()
        finally:
            engine.dispose()
        assert [row.body for row in rows] == ["α", "β"]
        assert database == "glm_test"
        # TCP asks for the password rather than trusting whoever connects.
        with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
            _connects(sa.make_url(url).set(password="wrong"))

    with pytest.raises(sa.exc.OperationalError):
        _connects(url)
    assert (tmp_path / "postgres.log").exists()
