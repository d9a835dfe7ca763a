"""On-disk answers: a re-run, or a run resumed after an interrupt, sends only what is missing.

One SQLite file (`batch.sqlite3`) in the cache directory. The key is a hash of everything that
shapes an answer (see `request_key`) and never of the API key. Each answer is written the moment
it arrives, in its own transaction, so an interrupt loses nothing that was paid for. Only
successful answers are stored: a failed item is asked again next time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..messages import Usage
from ..redact import redact_url

FILE_NAME = "batch.sqlite3"
# Transport details that do not change the answer: the same question streamed or not is the same.
_NOT_SHAPING = ("stream", "stream_options")
_CHUNK = 500  # keys per look-up: under SQLite's limit on bound parameters
_SETUP_TRIES = 100  # 5 s of retries while another connection sets a new file up


def request_key(provider: str, base_url: str, body: Mapping[str, Any], schema: Any = None) -> str:
    """Hash of the server, the request body (model, messages, temperature, max_tokens, thinking,
    response format, ...) and the schema; never of the API key or the URL's credentials."""
    shaping = {k: v for k, v in body.items() if k not in _NOT_SHAPING}
    text = json.dumps(
        {
            "v": 1,
            "provider": provider,
            # As shown: credentials do not shape an answer, and no hash of them goes to disk.
            "base_url": redact_url(base_url).rstrip("/"),
            "body": shaping,
            "schema": schema,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Cached:
    """A stored answer and what it cost when it was bought."""

    text: str
    usage: Usage


class AnswerCache:
    """Answers by request key in one SQLite file."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME
        # The batch's loop writes from its worker thread while the caller's thread may close
        # the file: sqlite3 crashes the process when a connection is closed mid-statement.
        self._lock = threading.Lock()
        self._closed = False
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)  # answers may be private
            # Autocommit (isolation_level=None): each answer is durable on its own. WAL keeps a
            # commit cheap (no fsync per answer with synchronous=NORMAL) and lets readers in
            # while another batch writes. The batch's loop may run on a worker thread.
            self._db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._set_up()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(
                f"Cannot use the batch cache at {self.path} ({exc}). Pass cache_dir= a writable "
                "folder (or set GLM_CACHE_DIR), or cache=False to run without one."
            ) from None

    def _set_up(self) -> None:
        # Two connections opening a new file at once race to switch it to WAL, and SQLite
        # answers the loser "database is locked" at once, without waiting out the timeout.
        for attempt in range(_SETUP_TRIES):
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, "
                    "text TEXT NOT NULL, usage TEXT NOT NULL, created REAL NOT NULL)"
                )
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == _SETUP_TRIES - 1:
                    raise
                time.sleep(0.05)

    def get_many(self, keys: Iterable[str]) -> dict[str, Cached]:
        """The stored answers among `keys`."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Cached] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT key, text, usage FROM answers WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
            for key, text, usage in rows:
                if text.strip():  # a blank answer (stored by an older version) is no answer
                    found[key] = Cached(text, _usage(usage))
        return found

    def put(self, key: str, text: str, usage: Usage | None) -> None:
        """Store one answer (replacing an older one for the same request); a blank one is not
        an answer and is not stored."""
        if not text.strip():
            return
        counts = json.dumps(
            {**usage.as_dict(), "cost_usd": usage.cost_usd} if usage is not None else {}
        )
        with self._lock:
            if self._closed:  # the run has ended: a late answer is not written to a closed file
                return
            self._db.execute(
                "INSERT OR REPLACE INTO answers (key, text, usage, created) VALUES (?, ?, ?, ?)",
                (key, text, counts, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        """Close the file (a write still under way on another thread finishes first)."""
        with self._lock:
            self._closed = True
            self._db.close()


def _usage(text: str) -> Usage:
    try:
        raw = json.loads(text)
        return Usage(
            prompt_tokens=int(raw.get("prompt_tokens", 0)),
            completion_tokens=int(raw.get("completion_tokens", 0)),
            cached_tokens=int(raw.get("cached_tokens", 0)),
            reasoning_tokens=int(raw.get("reasoning_tokens", 0)),
            cost_usd=raw.get("cost_usd"),
        )
    except (ValueError, TypeError, AttributeError):
        return Usage()
