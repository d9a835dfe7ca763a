"""`Simulator`: a scripted GLM-protocol server on loopback, running in a background thread."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from .scenario import ScenarioSource, load_scenario
from .server import SimulatorHTTPServer
from .state import Session


class Simulator:
    """A GLM-protocol HTTP server that serves a scenario; it is a test double, not a model."""

    def __init__(
        self,
        scenario: ScenarioSource = None,
        *,
        dialect: str | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        keep_bodies: int | None = None,
    ) -> None:
        # `keep_bodies`: only the newest N requests keep their bodies (None: all of them).
        self._session = Session(load_scenario(scenario), dialect, keep_bodies)
        self._server = SimulatorHTTPServer((host, port), self._session)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"glm-simulator-{self.port}",
            daemon=True,
        )
        self._closed = False
        self._thread.start()

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The TCP port the server listens on (the one picked when 0 was asked for)."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """`http://host:port`, without a path."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Base URL `http://host:port/v1`; any prefix before /chat/completions works."""
        return self.url + "/v1"

    @property
    def dialect(self) -> str:
        """Name of the dialect responses are shaped in."""
        return self._session.dialect.name

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request received so far: method, path, headers (keys redacted), body, raw_body,
        outcome, and for chat requests prompt_tokens and cached_tokens."""
        return self._session.requests()

    def reset(self, *, turns: bool = False) -> None:
        """Forget requests and cached prompts; with `turns=True` also restart the scenario."""
        self._session.reset(turns=turns)

    def set_scenario(self, scenario: ScenarioSource) -> None:
        """Serve another scenario (dict, JSON file path or None) from its first turn."""
        self._session.set_scenario(load_scenario(scenario))

    def close(self) -> None:
        """Stop serving, release the port and end the connections still open (as a server that
        exits does); calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.base_url
        return f"<Simulator {state} dialect={self.dialect}>"
