"""HTTP handling: routes, the request log, streaming, throttling and injected faults."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from .chunks import ChunkBuilder
from .dialects import (
    SIMULATOR_ID,
    default_model,
    model_list,
    refusal,
    requested_effort,
    wants_usage,
)
from .models import EFFORT_HEADER
from .plan import build_plan
from .scenario import Fault
from .sse import (
    MALFORMED_LINE,
    Event,
    completion_body,
    encode_json,
    error_body,
    error_event,
    stream_events,
)
from .state import Session
from .wire import FLUSH_BYTES, ChunkedWriter, Pacer

SIMULATOR_HEADER = "X-GLM-Simulator"
SIMULATOR_HEADER_VALUE = "glm-jupyter simulator"
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})


def _redact(name: str, value: str) -> str:
    if name not in _SECRET_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    return f"{scheme} ***" if rest else "***"


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if seconds == int(seconds) else str(seconds)


class SimulatorHandler(BaseHTTPRequestHandler):
    """Serves one connection: chat completions, the model list and the control endpoints."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # throttled streams send one small chunk at a time

    @property
    def session(self) -> Session:
        """The simulator state this server serves."""
        return cast(SimulatorHTTPServer, self.server).session

    def version_string(self) -> str:
        """The `Server` header: the simulator's name, nothing about the Python build."""
        return SIMULATOR_ID

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the terminal belongs to the tests or the notebook."""

    def send_response(self, code: int, message: str | None = None) -> None:
        """Send the status line plus the header that labels every response as simulated."""
        super().send_response(code, message)
        self.send_header(SIMULATOR_HEADER, SIMULATOR_HEADER_VALUE)
        effort = getattr(self, "_effort", None)
        if effort:
            self.send_header(EFFORT_HEADER, effort)

    # --- routing --------------------------------------------------------------------------

    def do_GET(self) -> None:
        """Request log, model list, or 404."""
        path = urlsplit(self.path).path.rstrip("/")
        try:
            if path == "/_simulator/requests":
                self._send_json(200, self.session.requests())
            elif path.endswith("/models"):
                self._record(b"", None)
                self._send_json(200, self._model_list())
                self._outcome("answered")
            else:
                self._send_json(404, error_body(None, f"No route for GET {path}"))
        except ConnectionError:
            self.close_connection = True

    def do_POST(self) -> None:
        """Chat completions, reset, or 404."""
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/")
        self._effort: str | None = None  # a kept-alive connection's last request is not this one
        try:
            raw = self._read_body()
            if path == "/_simulator/reset":
                turns = parse_qs(parts.query).get("turns", [""])[0].lower() in ("1", "true")
                self.session.reset(turns=turns)
                self._send_json(200, {"ok": True})
            elif path.endswith("/chat/completions"):
                self._chat(raw)
                self._outcome("answered")
            else:
                self._record(raw, None)
                self._send_json(404, error_body(None, f"No route for POST {path}"))
        except ConnectionError:
            # The client went away mid-response; there is nobody left to answer.
            self._outcome("client closed the connection")
            self.close_connection = True

    def _hung_up_within(self, seconds: float) -> bool:
        """Wait `seconds` before answering, as a slow model does, noticing at once a client
        that closes its connection meanwhile (a real server would stop generating then)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], left)
            if readable:
                try:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        return True
                except OSError:
                    return True
                time.sleep(min(left, 0.01))  # more of the request (pipelined): keep waiting
        return False

    def _outcome(self, outcome: str) -> None:
        entry = getattr(self, "_entry", None)
        if entry is not None and entry["outcome"] == "open":
            entry["outcome"] = outcome
            entry["ended_at"] = time.time()  # Unix seconds: when the answer ended

    # --- request side ---------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def _record(self, raw: bytes, body: Any) -> None:
        headers = {k.lower(): _redact(k.lower(), v) for k, v in self.headers.items()}
        self._entry: dict[str, Any] = {
            "method": self.command,
            "path": self.path,
            "headers": headers,
            "body": body,
            "raw_body": raw.decode("utf-8", "replace"),
            # "open" while answering, then "answered" or "client closed the connection"
            "outcome": "open",
            # The client's TCP port: requests over one kept-alive connection share it.
            "peer_port": self.client_address[1],
        }
        self.session.record(self._entry)

    def _model_list(self) -> dict[str, Any]:
        scenario = self.session.scenario
        return model_list(self.session.dialect, scenario.model, scenario.models)

    def _chat(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        self._record(raw, body)
        key = self.session.scenario.api_key
        if key is not None and self.headers.get("Authorization", "") != f"Bearer {key}":
            self._send_json(401, error_body("1000", "Authentication failed: invalid API key."))
            return
        if not isinstance(body, dict):
            self._send_json(400, error_body("1210", "The request body is not a JSON object."))
            return
        if not isinstance(body.get("messages"), list):
            self._send_json(400, error_body("1214", "'messages' must be a list of messages."))
            return
        served = self.session.serve(body)
        # The prompt as the server counted it, whatever the answer: tests read it here.
        self._entry.update(prompt_tokens=served.prompt_tokens, cached_tokens=served.cached_tokens)
        turn, fault = served.turn, served.fault
        if turn.first_byte_delay and self._hung_up_within(turn.first_byte_delay):
            raise ConnectionResetError("the client closed the connection before the first byte")
        if fault is not None and fault.kind == "http_error":
            self._send_http_error(fault)
            return
        if turn.replay is not None:
            self._replay(turn.replay, turn.tokens_per_second)
            return
        d = served.dialect
        model = body.get("model")
        if not isinstance(model, str) or not model:
            model = default_model(d, served.scenario.model)
        self._effort = requested_effort(d, body)
        refused = refusal(
            d, body, model, served.scenario.extra_models(), prompt_tokens=served.prompt_tokens
        )
        if refused is not None:
            status, code, message = refused
            self._send_json(status, error_body(code, message))
            return
        plan = build_plan(
            turn,
            served.scenario,
            d,
            body,
            model=model,
            prompt_tokens=served.prompt_tokens,
            cached_tokens=served.cached_tokens,
        )
        builder = ChunkBuilder(d, model)
        if body.get("stream") is True:
            events = stream_events(plan, builder, include_usage=wants_usage(d, body))
            self._stream(events, fault, turn.tokens_per_second)
        else:
            self._complete(completion_body(plan, builder), fault)

    # --- response side --------------------------------------------------------------------

    def _send_bytes(
        self, status: int, data: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_json(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        self._send_bytes(status, encode_json(payload), headers)

    def _send_http_error(self, fault: Fault) -> None:
        message = fault.message or f"{_status_phrase(fault.status)} (simulated)"
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = _seconds_text(fault.retry_after)
        self._send_json(fault.status, error_body(fault.code, message), headers)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _drop_connection(self) -> None:
        # Closing without the terminating zero-length chunk is what a dropped stream looks
        # like to the client: an incomplete chunked body, no [DONE].
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _stream(self, events: Iterable[Event], fault: Fault | None, rate: float) -> None:
        self._start_stream()
        writer = ChunkedWriter(self.wfile, FLUSH_BYTES if rate <= 0 else 0)
        pacer = Pacer(rate)
        pending = fault
        tokens = 0
        for kind, data in events:
            if pending is not None and (
                kind == "tail" or (kind == "token" and tokens >= pending.after_tokens)
            ):
                if pending.kind == "cut":
                    writer.flush()
                    self._drop_connection()
                    return
                if pending.kind == "stream_error":
                    writer.write(error_event(pending))
                    writer.finish()
                    return
                writer.write(MALFORMED_LINE)
                pending = None
            if kind == "token":
                pacer.wait()
                tokens += 1
            writer.write(data)
        writer.finish()

    def _complete(self, data: bytes, fault: Fault | None) -> None:
        if fault is None:
            self._send_bytes(200, data)
        elif fault.kind == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self._drop_connection()
        elif fault.kind == "malformed":
            self._send_bytes(200, data[: len(data) // 2])
        else:
            message = fault.message or "Simulated stream error"
            self._send_json(200, error_body(fault.code, message))

    def _replay(self, data: bytes, rate: float) -> None:
        self._start_stream()
        if rate <= 0:
            writer = ChunkedWriter(self.wfile, FLUSH_BYTES)
            writer.write(data)
        else:
            writer = ChunkedWriter(self.wfile, 0)
            pacer = Pacer(rate)
            for line in data.splitlines(keepends=True):
                if line.strip():
                    pacer.wait()  # blank separator lines ride along with the line before
                writer.write(line)
        writer.finish()


class SimulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one simulator session."""

    daemon_threads = True
    # socketserver's default listen backlog is 5: a client opening more connections at once
    # (a batch with concurrency 16) would see SYNs dropped and a 1-3 s retransmit stall, or a
    # reset, which no real server shows at that load.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], session: Session) -> None:
        self.session = session
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._open: set[socket.socket] = set()  # the connections being served
        self._open_lock = threading.Lock()
        super().__init__(address, SimulatorHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Serve one connection, known as open while it is served."""
        with self._open_lock:
            self._open.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def server_close(self) -> None:
        """Stop listening and end the connections still open, as a server process that exits
        does: a client's kept-alive connection must not keep talking to a stopped server."""
        super().server_close()
        with self._open_lock:
            still_open = list(self._open)
        for connection in still_open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a stopped stream, a closed pool) is normal here, not news."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS look-up, which can stall for seconds."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)
