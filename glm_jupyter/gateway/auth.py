"""Who is asking: a token the instructor issued (`gateway token issue`), or, when the gateway
runs as a JupyterHub service, the student's own Hub API token, checked against the Hub."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from ..errors import ConnectionFailedError
from .ledger import Ledger
from .store import TOKEN_PREFIX, digest

# How long an answer about a token holds (JupyterHub's own HubAuth keeps them 300 s): a
# revoked token stops working within this, and a hundred students cost no hundred look-ups.
TOKEN_CACHE_S = 60.0


@dataclass(frozen=True, slots=True)
class Student:
    """An authenticated caller."""

    name: str
    via: str  # "token" (issued by the instructor) or "hub"


def bearer(headers: Mapping[str, str]) -> str | None:
    """The credential of `Authorization: Bearer ...` (or JupyterHub's `token ...`)."""
    value = headers.get("Authorization", "").strip()
    scheme, _, credential = value.partition(" ")
    if scheme.lower() in ("bearer", "token") and credential.strip():
        return credential.strip()
    return None


class _Answers:
    """Answers about tokens, by digest, each kept `TOKEN_CACHE_S`."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, str | None]] = {}

    def get(self, token: str) -> tuple[bool, str | None]:
        """Whether the token is known here, and whose it is."""
        known = self._known.get(digest(token))
        if known is None or known[0] <= time.monotonic():
            return False, None
        return True, known[1]

    def put(self, token: str, student: str | None) -> str | None:
        """Keep an answer; returns it."""
        now = time.monotonic()
        if len(self._known) > 10_000:  # many students, a long course: forget the stale
            self._known = {k: v for k, v in self._known.items() if v[0] > now}
        self._known[digest(token)] = (now + TOKEN_CACHE_S, student)
        return student


class HubTokens:
    """Students' JupyterHub API tokens, asked of the Hub (`GET /hub/api/user` with the
    student's token, as JupyterHub's own services do), the answers kept a minute."""

    def __init__(self, api_url: str, client: httpx.AsyncClient) -> None:
        self.api_url = api_url.rstrip("/")
        self.client = client
        self._answers = _Answers()

    async def student(self, token: str) -> str | None:
        """The Hub user the token belongs to; None for a token the Hub does not know, or one
        that is not a user's (a service's)."""
        known, name = self._answers.get(token)
        if known:
            return name
        try:
            response = await self.client.get(
                f"{self.api_url}/user", headers={"Authorization": f"token {token}"}, timeout=10
            )
        except httpx.HTTPError as exc:
            raise ConnectionFailedError(
                f"JupyterHub did not answer ({type(exc).__name__})."
            ) from None
        if response.status_code in (401, 403, 404):
            name = None
        elif response.status_code != 200:
            raise ConnectionFailedError(f"JupyterHub answered {response.status_code}.")
        else:
            model = response.json()
            name = model.get("name") if model.get("kind", "user") == "user" else None
        return self._answers.put(token, name if isinstance(name, str) else None)


class Authenticator:
    """Issued tokens first (they say so by their prefix), then the Hub's, when there is one."""

    def __init__(self, ledger: Ledger, hub: HubTokens | None = None) -> None:
        self.ledger = ledger
        self.hub = hub

    async def close(self) -> None:
        """Close the connection to the Hub."""
        if self.hub is not None:
            await self.hub.client.aclose()

    async def student(self, headers: Mapping[str, str]) -> Student | None:
        """The student a request comes from; None when its credential is missing or wrong."""
        token = bearer(headers)
        if token is None:
            return None
        if token.startswith(TOKEN_PREFIX) or self.hub is None:
            name = await self.ledger.student_for_token(token)
            return None if name is None else Student(name, "token")
        name = await self.hub.student(token)
        return None if name is None else Student(name, "hub")
