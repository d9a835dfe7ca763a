"""The gateway's HTTP side (Tornado): `POST v1/chat/completions` forwarded to the provider
byte for byte, `GET v1/models`, `GET v1/budget` (where the student stands), `GET health`.

A refusal is `{"error": {"code": "gateway_...", "message": ...}}` with one line that says
what limit, how much is left and when it resets; the kernel shows that line as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from tornado import iostream, web

from ..config import catalog
from ..errors import ConnectionFailedError, PolicyError
from ..wire.failures import GATEWAY_UPSTREAM
from . import rules
from .auth import Authenticator, Student
from .budget import Budgets, Clock, Standing
from .relay import Upstream, UsageScan
from .store import Store

log = logging.getLogger("glm_jupyter.gateway")

# Headers of the provider's answer that mean something to the kernel (the rest are hop's).
_PASSED_HEADERS = ("Content-Type", "Retry-After", "X-Request-Id")


class PolicySource:
    """The classroom policy file, re-read when it changes (None: no file, no limits)."""

    def __init__(self, guard: Any = None) -> None:
        self.guard = guard  # a core.guard.PolicyGuard on the file, or None

    def current(self) -> Any:
        """The policy in force; PolicyError when the file cannot be used (fail closed)."""
        return None if self.guard is None else self.guard.current()


@dataclass
class Gateway:
    """Everything one gateway process holds."""

    upstream: Upstream
    store: Store
    auth: Authenticator
    policy: PolicySource = field(default_factory=PolicySource)
    transport: httpx.AsyncBaseTransport | None = None
    _client: httpx.AsyncClient | None = None
    _clocks: dict[str, Clock] = field(default_factory=dict)

    @property
    def client(self) -> httpx.AsyncClient:
        """The shared pool to the provider (made on the server's loop)."""
        if self._client is None:
            self._client = self.upstream.client(self.transport)
        return self._client

    def clock(self, policy: Any) -> Clock:
        """The course's clock (its time zone comes from the policy)."""
        zone = policy.timezone if policy is not None else "UTC"
        if zone not in self._clocks:
            self._clocks[zone] = Clock(zone)
        return self._clocks[zone]

    async def standing(self, student: str, policy: Any) -> Standing:
        """Where `student` stands now."""
        clock = self.clock(policy)
        now = clock.now()
        spent, override = await asyncio.to_thread(self.store.position, student, clock.day(now))
        return Standing(student, Budgets.of(policy, override), spent, clock.next_reset(now))

    async def close(self) -> None:
        """Close the provider's pool and the database's."""
        if self._client is not None:
            await self._client.aclose()
        self.store.close()


class _Handler(web.RequestHandler):
    gateway: Gateway

    def initialize(self, gateway: Gateway) -> None:
        """Every handler shares the one gateway."""
        self.gateway = gateway

    def refuse(self, status: int, code: str, message: str, **extra: Any) -> None:
        """Answer with one error object the kernel can show as it is."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": {"code": code, "message": message, **extra}}))

    async def student(self) -> Student | None:
        """The caller, or None after refusing them."""
        try:
            found = await self.gateway.auth.student(self.request.headers)
        except ConnectionFailedError as exc:
            self.refuse(503, "gateway_auth_unavailable", f"The gateway cannot check tokens: {exc}")
            return None
        if found is None:
            has = "Authorization" in self.request.headers
            self.refuse(
                401,
                "gateway_auth",
                ("The gateway does not know this token" if has else "No token was sent")
                + ": on JupyterHub, start your server again from the Hub's home page; "
                "otherwise set GLM_GATEWAY_TOKEN to the token your instructor gave you.",
            )
        return found

    def policy(self) -> tuple[bool, Any]:
        """Whether a policy holds, and which (None: no file); False after refusing the
        request because the file cannot be used (fail closed)."""
        try:
            return True, self.gateway.policy.current()
        except PolicyError as exc:
            self.refuse(503, "gateway_policy_file", str(exc))
            return False, None


class ChatHandler(_Handler):
    """`POST v1/chat/completions`: checked, then relayed to the provider."""

    _relaying: asyncio.Task[None] | None = None

    async def post(self) -> None:
        student = await self.student()
        if student is None:
            return
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.refuse(400, "gateway_request", "The request body must be one JSON object.")
            return
        usable, policy = self.policy()
        if not usable:
            return
        said = rules.refusal(body, policy)
        if said is not None:
            self.refuse(403, "gateway_policy", said)
            return
        clock = self.gateway.clock(policy)
        standing = await self.gateway.standing(student.name, policy)
        now = clock.now()
        over = standing.refusal(now, policy.message if policy is not None else "")
        if over is not None:
            self.refuse(
                429,
                "gateway_budget",
                over,
                left=standing.left(),
                resets_at=standing.resets_at.isoformat(),
            )
            return
        self._relaying = asyncio.ensure_future(self._relay(student, body, clock.day(now)))
        with contextlib.suppress(asyncio.CancelledError):
            await self._relaying

    def on_connection_close(self) -> None:
        """The student hung up (interrupted the cell): stop reading from the provider."""
        if self._relaying is not None:
            self._relaying.cancel()

    async def _relay(self, student: Student, body: dict[str, Any], day: str) -> None:
        gw = self.gateway
        model = str(body.get("model"))
        scan, outcome = UsageScan(), "interrupted"
        request = gw.client.build_request(
            "POST",
            gw.upstream.url("/chat/completions"),
            content=gw.upstream.body(body),
            headers=gw.upstream.headers(),
        )
        try:
            try:
                response = await gw.client.send(request, stream=True)
            except httpx.HTTPError as exc:
                outcome = "unreachable"
                self.refuse(
                    502,
                    GATEWAY_UPSTREAM,
                    f"The gateway could not reach {gw.upstream.provider.label} "
                    f"({type(exc).__name__}): run the cell again in a moment.",
                )
                return
            try:
                await self._pass_on(response, scan)
                outcome = "done" if response.status_code < 400 else "error"
            finally:
                await response.aclose()
        except iostream.StreamClosedError:
            pass  # the student left mid-answer: charged what the provider reported, if anything
        finally:
            scan.end()
            cost = (
                catalog.cost(model, scan.usage, gw.upstream.provider.name) if scan.usage else None
            )
            # Shielded: a hang-up must not lose the row of what was already used.
            await asyncio.shield(
                asyncio.to_thread(
                    gw.store.record, student.name, model, scan.usage, cost, outcome=outcome, day=day
                )
            )

    async def _pass_on(self, response: httpx.Response, scan: UsageScan) -> None:
        self.set_status(response.status_code)
        for name in _PASSED_HEADERS:
            if name in response.headers:
                self.set_header(name, response.headers[name])
        streaming = response.headers.get("content-type", "").startswith("text/event-stream")
        whole = bytearray()
        async for chunk in response.aiter_raw():
            if streaming:
                scan.feed(chunk)
            else:
                whole += chunk
            self.write(chunk)
            await self.flush()
        if not streaming and response.status_code < 400:
            scan.whole(bytes(whole))
        self.finish()


class ModelsHandler(_Handler):
    """`GET v1/models`: the provider's list, for students who may use the gateway."""

    async def get(self) -> None:
        if await self.student() is None:
            return
        gw = self.gateway
        try:
            response = await gw.client.get(
                gw.upstream.url("/models"), headers=gw.upstream.headers()
            )
        except httpx.HTTPError as exc:
            self.refuse(
                502, GATEWAY_UPSTREAM, f"The provider did not answer ({type(exc).__name__})."
            )
            return
        self.set_status(response.status_code)
        self.set_header("Content-Type", response.headers.get("content-type", "application/json"))
        self.finish(response.content)


class BudgetHandler(_Handler):
    """`GET v1/budget`: the caller's budgets, what they used and what is left."""

    async def get(self) -> None:
        student = await self.student()
        if student is None:
            return
        usable, policy = self.policy()
        if not usable:
            return
        standing = await self.gateway.standing(student.name, policy)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(standing.as_json()))


class HealthHandler(web.RequestHandler):
    """`GET health`: the process answers (no token needed, nothing told)."""

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(b'{"status": "ok"}')


def application(gateway: Gateway, prefix: str = "/") -> web.Application:
    """The routes under `prefix` (JupyterHub's `JUPYTERHUB_SERVICE_PREFIX`, else `/`)."""
    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    args = {"gateway": gateway}
    return web.Application(
        [
            (f"{prefix}v1/chat/completions", ChatHandler, args),
            (f"{prefix}v1/models", ModelsHandler, args),
            (f"{prefix}v1/budget", BudgetHandler, args),
            (f"{prefix}health", HealthHandler),
        ],
        # Nothing of a request but its method, path and status reaches the log.
        log_function=_log_request,
    )


def _log_request(handler: web.RequestHandler) -> None:
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING
    took = 1000.0 * handler.request.request_time()
    log.log(level, "%d %s %s %.0f ms", status, handler.request.method, handler.request.path, took)
