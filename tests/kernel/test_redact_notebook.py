"""A real kernel with credentials in GLM_BASE_URL: answers arrive, and no output shows them."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.simulator import Simulator

PW, TOK = "pw-SECRET", "tok-SECRET"
REFUSED = f"http://user:{PW}@127.0.0.1:9/v1"  # port 9 (discard): nothing listens, refused
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The credentials live only in the kernel's environment: a cell's source is saved as typed.
CELLS = [
    "%load_ext glm_jupyter\n%config GLM.max_retries = 0",
    "%glm hi",
    "%glm config",
    "%glm models",
    "import glm_jupyter\n"
    "answers = glm_jupyter.map('Name {item}', ['a', 'b'], progress=False)\n"
    "print(answers, answers.attrs['glm_summary'])",
    "import os\nos.environ['GLM_BASE_URL'] = os.environ['REFUSED_URL']",
    "%glm hi",
    "%glm config",
    # As in a kernel where another extension owns custom exceptions: then the whole traceback
    # shows, and Verbose mode prints every frame's locals (settings, endpoint, messages).
    "%xmode Verbose\nget_ipython().set_custom_exc((), None)",
    "%glm hi",
]
ANSWER, CONFIG, MODELS, BATCH, ERROR, REFUSED_CONFIG, VERBOSE = 1, 2, 3, 4, 6, 7, 9


class RecordingClient(NotebookClient):
    """Keeps (type, content as JSON) of every iopub message the kernel sent, updates included."""

    messages: list[tuple[str, str]]

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        """Record, then handle as usual."""
        # A snapshot: nbclient rewrites display updates' headers as it folds them into outputs.
        content = json.dumps(msg["content"], ensure_ascii=False, default=str)
        self.messages.append((msg["msg_type"], content))
        return super().process_message(msg, cell, cell_index)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("redact")
    with Simulator({"default": {"content": "fine"}}, dialect="vllm") as sim:
        env = dict(
            os.environ,
            GLM_PROVIDER="vllm",  # no key: the URL's userinfo is the server's only credential
            GLM_BASE_URL=f"http://user:{PW}@{sim.host}:{sim.port}/v1?api_key={TOK}",
            REFUSED_URL=REFUSED,
            GLM_CACHE_DIR=str(folder / "cache"),
        )
        for name in ("GLM_API_KEY", "GLM_MODEL", "GLM_POLICY"):
            env.pop(name, None)
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
        client = RecordingClient(nb, timeout=120, allow_errors=True, kernel_name="python3")
        client.messages = []
        client.execute(env=env)
        requests = sim.requests
    path = folder / "saved.ipynb"
    nbformat.write(nb, path)
    return {
        "nb": nb,
        "path": path,
        "messages": client.messages,
        "requests": requests,
        "cache": folder / "cache",
    }


def _text(cell: Any) -> str:
    return ANSI.sub("", json.dumps(cell.outputs, ensure_ascii=False))


def _error(cell: Any) -> Any:
    return next(o for o in cell.outputs if o["output_type"] == "error")


def test_the_credentials_were_sent(executed: dict[str, Any]) -> None:
    chats = [r for r in executed["requests"] if r["path"].startswith("/v1/chat/completions")]
    assert len(chats) == 3  # %glm hi and two batch items
    for request in chats:
        assert request["path"].endswith(f"?api_key={TOK}")
        assert request["headers"]["authorization"].startswith("Basic ")  # the userinfo
    assert any(r["path"] == f"/v1/models?api_key={TOK}" for r in executed["requests"])


def test_answers_arrive_through_the_credentialed_url(executed: dict[str, Any]) -> None:
    nb = executed["nb"]
    (response,) = [o["data"][MIME_TYPE] for o in nb.cells[ANSWER].outputs if "data" in o]
    assert response["status"] == "done"
    assert response["content"] == "fine"
    assert "['fine', 'fine']" in nb.cells[BATCH].outputs[0]["text"]


def test_config_and_models_show_the_url_masked(executed: dict[str, Any]) -> None:
    nb = executed["nb"]
    config = _text(nb.cells[CONFIG])
    assert "| base_url | `http://***@127.0.0.1:" in config
    assert "/v1?api_key=***` | env (GLM_BASE_URL) |" in config
    assert "`http://***@127.0.0.1:" in _text(nb.cells[MODELS])
    assert "| base_url | `http://***@127.0.0.1:9/v1` |" in _text(nb.cells[REFUSED_CONFIG])


def test_the_error_names_the_url_masked(executed: dict[str, Any]) -> None:
    nb = executed["nb"]
    error = _error(nb.cells[ERROR])
    assert error["ename"] == "ConnectionFailedError"
    assert error["evalue"].startswith(
        "Could not get an answer from http://***@127.0.0.1:9/v1/chat/completions ("
    )
    assert "***@" in ANSI.sub("", "".join(error["traceback"]))
    (response,) = [o["data"][MIME_TYPE] for o in nb.cells[ERROR].outputs if "data" in o]
    assert response["status"] == "error"
    assert "http://***@127.0.0.1:9/v1" in response["error"]


def test_the_verbose_traceback_shows_frames_but_no_credential(executed: dict[str, Any]) -> None:
    error = _error(executed["nb"].cells[VERBOSE])
    shown = ANSI.sub("", "\n".join(error["traceback"]))
    assert len(error["traceback"]) > 3  # frames with their locals, not the message alone
    assert "base_url='http://***@127.0.0.1:9/v1'" in shown  # Settings and Endpoint reprs
    assert PW not in shown


def test_no_credential_in_the_saved_notebook(executed: dict[str, Any]) -> None:
    text = executed["path"].read_text(encoding="utf-8")
    assert "ConnectionFailedError" in text
    assert "***@" in text
    assert PW not in text
    assert TOK not in text


def test_no_credential_in_any_kernel_message(executed: dict[str, Any]) -> None:
    messages = executed["messages"]
    kinds = {kind for kind, _ in messages}
    assert {"display_data", "update_display_data", "error", "stream"} <= kinds, kinds
    for kind, content in messages:
        assert PW not in content, kind
        assert TOK not in content, kind


def test_no_credential_in_the_batch_cache(executed: dict[str, Any]) -> None:
    files = [p for p in executed["cache"].rglob("*") if p.is_file()]  # with any -wal, -shm
    assert any(p.name == "batch.sqlite3" for p in files)
    data = b"".join(p.read_bytes() for p in files)
    assert b"fine" in data  # the answers are stored
    assert PW.encode() not in data
    assert TOK.encode() not in data
