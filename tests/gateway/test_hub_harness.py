"""The JupyterHub harness itself: a stand-in service behind a real Hub tells users' tokens apart,
and a kernel in a user's server holds a token that service takes as that user's."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from .hub import jupyterhub

SERVICE = "standin"
# A service as the course gateway will be one: it asks the Hub who a request's token belongs to.
STANDIN = """
import http.server, json, os, urllib.error, urllib.request
from urllib.parse import urlsplit

API, PREFIX = os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_SERVICE_PREFIX"]

def user_of(token):
    request = urllib.request.Request(API + "/user", headers={"Authorization": "token " + token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            model = json.load(response)
    except urllib.error.HTTPError:
        return None
    return model["name"] if model.get("kind") == "user" else None

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        name = user_of(token) if token and scheme.lower() in ("token", "bearer") else None
        if not self.path.startswith(PREFIX):
            status, answer = 404, {"path": self.path}
        elif name is None:
            status, answer = 403, {"error": "not a user's token"}
        else:
            status, answer = 200, {"name": name, "path": self.path, "mark": os.environ["MARK"]}
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

url = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
try:
    http.server.ThreadingHTTPServer((url.hostname, url.port), Handler).serve_forever()
except KeyboardInterrupt:  # the Hub stops its services with SIGINT
    pass
"""


def bearer(token: str) -> dict[str, str]:
    """The header a kernel's client sends."""
    return {"Authorization": f"Bearer {token}"}


def test_tokens_reach_the_service_through_the_proxy_and_kernels_hold_one(tmp_path: Path) -> None:
    script = tmp_path / "standin.py"
    script.write_text(STANDIN)
    with jupyterhub(
        tmp_path / "hub",
        service_name=SERVICE,
        service_command=[sys.executable, str(script)],
        service_env={"MARK": "service-env"},
        spawner_env={"COURSE_GATEWAY_URL": "set-by-spawner"},
        users=["alice", "bob"],
    ) as hub:
        assert hub.service_prefix_url == f"{hub.url}/services/{SERVICE}/"

        # A user's token, through the proxy: the proxy passes the whole path on, prefix and all.
        answer = httpx.get(
            hub.service_prefix_url + "v1/models?x=1", headers=bearer(hub.user_token("alice"))
        )
        assert answer.status_code == 200, hub.fail(answer.text)
        assert answer.json() == {
            "name": "alice",
            "path": f"/services/{SERVICE}/v1/models?x=1",
            "mark": "service-env",
        }
        bob = httpx.get(hub.service_prefix_url, headers=bearer(hub.user_token("bob")))
        assert bob.json()["name"] == "bob"
        # The service reached directly sees the same paths.
        direct = httpx.get(
            f"{hub.service_url}/services/{SERVICE}/", headers=bearer(hub.user_token("bob"))
        )
        assert direct.json()["name"] == "bob"

        # The proxy itself lets anything through: refusing is the service's work.
        assert httpx.get(hub.service_prefix_url, headers=bearer("not-a-token")).status_code == 403
        assert httpx.get(hub.service_prefix_url).status_code == 403
        # The Hub's own token is a service's, not a user's.
        assert httpx.get(hub.service_prefix_url, headers=bearer(hub.admin_token)).status_code == 403

        # A kernel in alice's server sees the spawner's environment and her server's token, and
        # code in it reaches the service with that token.
        with hub.kernel("alice") as kernel:
            env = kernel.env()
            outputs = kernel.execute(
                "import os, urllib.request\n"
                f"request = urllib.request.Request({hub.service_prefix_url!r}, headers={{"
                "'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']})\n"
                "print(urllib.request.urlopen(request).read().decode())",
            )
        assert env["COURSE_GATEWAY_URL"] == "set-by-spawner"
        assert env["JUPYTERHUB_USER"] == "alice"
        assert env["JUPYTERHUB_API_URL"] == hub.hub_api_url  # the Hub's own port, not the proxy
        assert [o["output_type"] for o in outputs] == ["stream"], outputs
        assert '"name": "alice"' in outputs[0]["text"]
        from_kernel = httpx.get(hub.service_prefix_url, headers=bearer(env["JUPYTERHUB_API_TOKEN"]))
        assert from_kernel.status_code == 200, hub.fail(from_kernel.text)
        assert from_kernel.json()["name"] == "alice"
