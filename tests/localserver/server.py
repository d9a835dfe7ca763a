"""Start llama-cpp-python's OpenAI-compatible server on a free loopback port, and stop it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from ..helpers import stop
from .tiny_model import write

ALIAS = "tiny-glm"
CONTEXT = 1024  # tokens: small, so a test can overflow it cheaply
START_TIMEOUT = 120.0  # seconds for the model to load on a busy machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(folder: Path) -> Iterator[str]:
    """The base URL (`http://127.0.0.1:PORT/v1`) of a running server; stopped on exit."""
    model = write(folder / "tiny-glm.gguf")
    port = _free_port()
    log = (folder / "server.log").open("w")
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(CONTEXT), "--n_threads", "1", "--verbose", "False",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with {process.returncode}: "
                    + (folder / "server.log").read_text()[-2000:]
                )
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not answer within {START_TIMEOUT:.0f} s")
            time.sleep(0.2)
        yield base_url
    finally:
        stop(process, 10)
        log.close()
