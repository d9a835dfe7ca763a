"""`glm-jupyter gateway serve`: the gateway built from its flags and the environment (the
course's key, the policy file, the database; JupyterHub's variables when the Hub runs it as a
service), serving until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ..config.keys import find_key
from ..config.policy import locate_policy
from ..config.providers import PROVIDERS
from ..core.guard import PolicyGuard
from ..errors import ConfigurationError
from ..redact import redact_url
from .app import Gateway, application
from .auth import Authenticator, HubTokens
from .ledger import Ledger
from .relay import Upstream
from .store import Store

READY = "glm-jupyter gateway listening on"  # the line a supervisor (or a test) waits for


@dataclass(frozen=True, slots=True)
class Listen:
    """Where the gateway listens and under which path."""

    host: str
    port: int
    prefix: str


def upstream(provider: str | None, base_url: str | None, env: Mapping[str, str]) -> Upstream:
    """The provider the gateway forwards to, with the course's key from `env`."""
    name = (provider or env.get("GLM_PROVIDER") or "zai").strip().lower()
    if name == "gateway" or name not in PROVIDERS:
        known = ", ".join(p for p in PROVIDERS if p != "gateway")
        raise ConfigurationError(f"--provider {name!r} is not a provider to forward to: {known}.")
    chosen = PROVIDERS[name]
    url = (base_url or env.get("GLM_BASE_URL") or chosen.base_url).strip()
    if not url:
        raise ConfigurationError(f"{chosen.label} has no default URL: pass --base-url.")
    key, _ = find_key(chosen, env)
    if key is None and not chosen.local:
        raise ConfigurationError(
            f"The gateway holds the course's key: set {chosen.key_env} (or GLM_API_KEY) in its "
            "environment (on JupyterHub, in the service's `environment`)."
        )
    return Upstream(chosen, url, key)


def listen(host: str | None, port: int | None, env: Mapping[str, str]) -> Listen:
    """Flags first, then JupyterHub's `JUPYTERHUB_SERVICE_URL` / `_PREFIX`, then defaults."""
    service = env.get("JUPYTERHUB_SERVICE_URL", "")
    parts = urlsplit(service) if service else None
    return Listen(
        host or (parts.hostname if parts and parts.hostname else "127.0.0.1"),
        port if port is not None else (parts.port if parts and parts.port else 8765),
        env.get("JUPYTERHUB_SERVICE_PREFIX", "/") or "/",
    )


def policy_source(path: Path | None, env: Mapping[str, str]) -> PolicyGuard:
    """The policy file named, else the one a kernel would find (`GLM_POLICY`, config dirs)."""
    if path is None:
        path, origin = locate_policy(env)
    else:
        origin = "--policy"
    return PolicyGuard(path, origin)  # no path: no file, no limits


def build(
    *,
    provider: str | None,
    base_url: str | None,
    db: str,
    policy: Path | None,
    env: Mapping[str, str],
) -> Gateway:
    """A gateway from its settings; Hub tokens are accepted when the Hub runs it."""
    up = upstream(provider, base_url, env)
    ledger = Ledger(Store(db))
    hub_api = env.get("JUPYTERHUB_API_URL", "").strip()
    hub = HubTokens(hub_api, httpx.AsyncClient()) if hub_api else None
    return Gateway(up, ledger, Authenticator(ledger, hub), policy_source(policy, env))


async def serve(gateway: Gateway, where: Listen) -> None:
    """Serve until SIGTERM or SIGINT, then close the pools."""
    import socket

    from aiohttp import web

    sock = socket.create_server((where.host, where.port), reuse_port=False)
    # A student who hangs up (interrupts the cell) cancels the relay at once, which closes
    # the provider's stream: nothing more is generated, or paid for, after that.
    runner = web.AppRunner(application(gateway, where.prefix), handler_cancellation=True)
    await gateway.start()
    await runner.setup()
    await web.SockSite(runner, sock).start()
    port = sock.getsockname()[1]
    prefix = "/" + where.prefix.strip("/") + "/" if where.prefix.strip("/") else "/"
    up = gateway.upstream
    print(
        f"{READY} http://{where.host}:{port}{prefix}v1 -> {up.provider.label} "
        f"({redact_url(up.base_url)}), data in {redact_url(gateway.ledger.store.url)}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await gateway.close()


def main(gateway: Gateway, where: Listen) -> int:
    """Run the gateway in this process."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    # httpx logs each request's URL (the Hub's), aiohttp each request line: neither is kept.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    asyncio.run(serve(gateway, where))
    return 0
