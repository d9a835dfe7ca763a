"""The gateway's HTTP side (aiohttp): `POST v1/chat/completions` forwarded to the provider
byte for byte, `GET v1/models`, `GET v1/budget` (where the student stands), `GET health`.

A refusal is `{"error": {"code": "gateway_...", "message": ...}}` with one line that says
what limit, how much is left and when it resets; the kernel shows that line as it is.
aiohttp on both sides (its HTTP parser is compiled, its connection pool scales): a hundred
students streaming at once cost the gateway little more than the bytes it copies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from ..config import catalog
from ..core.guard import PolicyGuard
from ..errors import ConnectionFailedError, PolicyError
from ..wire.failures import GATEWAY_UPSTREAM
from . import rules
from .auth import Authenticator, Student
from .budget import Budgets, Clock, Standing
from .ledger import Ledger
from .relay import Upstream, UsageScan
from .store import Charge

log = logging.getLogger("glm_jupyter.gateway")

# Headers of the provider's answer that mean something to the kernel (the rest are the hop's).
_PASSED_HEADERS = ("Content-Type", "Retry-After", "X-Request-Id")


@dataclass
class Gateway:
    """Everything one gateway process holds."""

    upstream: Upstream
    ledger: Ledger
    auth: Authenticator
    policy: PolicyGuard = field(default_factory=PolicyGuard)  # no file: no limits
    _session: aiohttp.ClientSession | None = None
    _clocks: dict[str, Clock] = field(default_factory=dict)

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pool every student's requests share (made on the server's loop)."""
        if self._session is None:
            self._session = self.upstream.session()
        return self._session

    def clock(self, policy: Any) -> Clock:
        """The course's clock (its time zone comes from the policy)."""
        zone = policy.timezone if policy is not None else "UTC"
        if zone not in self._clocks:
            self._clocks[zone] = Clock(zone)
        return self._clocks[zone]

    def today(self) -> str:
        """The course's date now (the policy's time zone)."""
        try:
            policy = self.policy.current()
        except PolicyError:
            policy = None
        return self.clock(policy).day()

    def standing(self, student: str, policy: Any) -> Standing:
        """Where `student` stands now."""
        clock = self.clock(policy)
        now = clock.now()
        spent, override = self.ledger.position(student, clock.day(now))
        return Standing(student, Budgets.of(policy, override), spent, clock.next_reset(now))

    async def start(self) -> None:
        """Read the course's counts before the first request."""
        await self.ledger.start(self.today)

    async def close(self) -> None:
        """Close the provider's pool, the Hub's and the database's."""
        await self.ledger.stop()
        if self._session is not None:
            await self._session.close()
        await self.auth.close()
        self.ledger.store.close()


GATEWAY = web.AppKey("gateway", Gateway)


def refusal(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """One error object the kernel can show as it is."""
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


async def _student(request: web.Request) -> Student | web.Response:
    """The caller, or the refusal to answer them with."""
    try:
        found = await request.app[GATEWAY].auth.student(request.headers)
    except ConnectionFailedError as exc:
        return refusal(503, "gateway_auth_unavailable", f"The gateway cannot check tokens: {exc}")
    if found is None:
        has = "Authorization" in request.headers
        return refusal(
            401,
            "gateway_auth",
            ("The gateway does not know this token" if has else "No token was sent")
            + ": on JupyterHub, start your server again from the Hub's home page; "
            "otherwise set GLM_GATEWAY_TOKEN to the token your instructor gave you.",
        )
    return found


def _policy(request: web.Request) -> tuple[Any, web.Response | None]:
    """The policy in force (None: no file), or the refusal when the file cannot be used."""
    try:
        return request.app[GATEWAY].policy.current(), None
    except PolicyError as exc:
        return None, refusal(503, "gateway_policy_file", str(exc))


async def chat(request: web.Request) -> web.StreamResponse:
    """`POST v1/chat/completions`: checked, then relayed to the provider."""
    gw = request.app[GATEWAY]
    student = await _student(request)
    if isinstance(student, web.Response):
        return student
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return refusal(400, "gateway_request", "The request body must be one JSON object.")
    policy, refused = _policy(request)
    if refused is not None:
        return refused
    said = rules.refusal(body, policy)
    if said is not None:
        return refusal(403, "gateway_policy", said)
    clock = gw.clock(policy)
    standing = gw.standing(student.name, policy)
    now = clock.now()
    over = standing.refusal(now, policy.message if policy is not None else "")
    if over is not None:
        return refusal(
            429,
            "gateway_budget",
            over,
            left=standing.left(),
            resets_at=standing.resets_at.isoformat(),
        )
    return await _relay(request, gw, student, body, clock.day(now))


async def _relay(
    request: web.Request, gw: Gateway, student: Student, body: dict[str, Any], day: str
) -> web.StreamResponse:
    model = str(body.get("model"))
    scan, outcome = UsageScan(), "interrupted"
    try:
        try:
            upstream = await gw.session.post(
                gw.upstream.url("/chat/completions"),
                data=gw.upstream.body(body),
                headers=gw.upstream.headers(),
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = "unreachable"
            return refusal(
                502,
                GATEWAY_UPSTREAM,
                f"The gateway could not reach {gw.upstream.provider.label} "
                f"({type(exc).__name__}): run the cell again in a moment.",
            )
        async with upstream:
            response = web.StreamResponse(status=upstream.status)
            for name in _PASSED_HEADERS:
                if name in upstream.headers:
                    response.headers[name] = upstream.headers[name]
            await response.prepare(request)
            streaming = upstream.headers.get("Content-Type", "").startswith("text/event-stream")
            whole = bytearray()
            async for chunk in upstream.content.iter_any():
                if streaming:
                    scan.feed(chunk)
                else:
                    whole += chunk
                await response.write(chunk)
            if not streaming and upstream.status < 400:
                scan.whole(bytes(whole))
            await response.write_eof()
            outcome = "done" if upstream.status < 400 else "error"
            return response
    finally:
        # The student may have left mid-answer (this task is cancelled): charged what the
        # provider reported, if anything, and the row is written all the same.
        scan.end()
        used = scan.usage
        cost = catalog.cost(model, used, gw.upstream.provider.name) if used else None
        gw.ledger.charge(Charge(student.name, model, used, cost, outcome, day))


async def models(request: web.Request) -> web.StreamResponse:
    """`GET v1/models`: the provider's list, for students who may use the gateway."""
    student = await _student(request)
    if isinstance(student, web.Response):
        return student
    gw = request.app[GATEWAY]
    try:
        async with gw.session.get(
            gw.upstream.url("/models"), headers=gw.upstream.headers()
        ) as upstream:
            data = await upstream.read()
            kind = upstream.headers.get("Content-Type", "application/json")
            return web.Response(body=data, status=upstream.status, headers={"Content-Type": kind})
    except (aiohttp.ClientError, TimeoutError) as exc:
        return refusal(
            502, GATEWAY_UPSTREAM, f"The provider did not answer ({type(exc).__name__})."
        )


async def budget(request: web.Request) -> web.StreamResponse:
    """`GET v1/budget`: the caller's budgets, what they used and what is left."""
    student = await _student(request)
    if isinstance(student, web.Response):
        return student
    policy, refused = _policy(request)
    if refused is not None:
        return refused
    standing = request.app[GATEWAY].standing(student.name, policy)
    return web.json_response(standing.as_json())


async def health(request: web.Request) -> web.StreamResponse:
    """`GET health`: the process answers (no token needed, nothing told)."""
    return web.json_response({"status": "ok"})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _log_request(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Nothing of a request but its method, path, status and time reaches the log.
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except asyncio.CancelledError:
        status = 499  # the student hung up
        raise
    finally:
        took = 1000 * (time.perf_counter() - started)
        level = logging.INFO if status < 400 or status == 499 else logging.WARNING
        log.log(level, "%d %s %s %.0f ms", status, request.method, request.path, took)


def application(gateway: Gateway, prefix: str = "/") -> web.Application:
    """The routes under `prefix` (JupyterHub's `JUPYTERHUB_SERVICE_PREFIX`, else `/`)."""
    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    app = web.Application(middlewares=[_log_request], client_max_size=32 * 1024 * 1024)
    app[GATEWAY] = gateway
    app.router.add_post(f"{prefix}v1/chat/completions", chat)
    app.router.add_get(f"{prefix}v1/models", models)
    app.router.add_get(f"{prefix}v1/budget", budget)
    app.router.add_get(f"{prefix}health", health)
    return app
