"""Read-only means read-only, in a real kernel (nbclient): objects whose every hook has a side
effect, pointed at by each read-only tool, by --var and by {name}, run none of the person's
code; an MCP server's own read-only claim asks for approval unless the server is trusted."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.simulator import Simulator

SERVER = Path(__file__).parents[1] / "mcp_server.py"
HOOKS = ("property", "getattr", "repr", "str", "len", "iter", "bool", "descriptor", "hash")

SETUP = '''
%load_ext glm_jupyter
import pandas as pd

def hit(hook):
    open(f"hit-{hook}", "a").write("ran\\n")  # what a database query or a download would be

class Lazy:
    """Loads the column on first use."""
    def __get__(self, obj, owner):
        hit("descriptor")
        return 1

class Tricky:
    """A connection-like object: each hook does work."""
    lazy = Lazy()
    def __init__(self):
        self.rows = 3
        self.table = "sales"
    @property
    def boom(self):
        """Rows in the remote table."""
        hit("property")
        return 1
    def __getattr__(self, name):
        hit("getattr")
        return 1
    def __repr__(self):
        hit("repr")
        return "Tricky()"
    def __str__(self):
        hit("str")
        return "Tricky"
    def __len__(self):
        hit("len")
        return 3
    def __iter__(self):
        hit("iter")
        return iter([1])
    def __bool__(self):
        hit("bool")
        return True
    def __hash__(self):
        hit("hash")
        return 1
    def __eq__(self, other):
        hit("hash")
        return True
    def fit(self, k: int) -> None:
        """Fit on k rows."""

class Count(int):
    def __str__(self):
        hit("str")
        return "3"

conn = Tricky()
frame = pd.DataFrame({"obj": [Tricky(), Tricky(), None], "n": [1, 2, 3]})
items = [Tricky(), 1, "a"]
count = Count(3)
'''


def _calls(*pairs: tuple[str, Any]) -> dict[str, Any]:
    return {
        "tool_calls": [{"name": n, "arguments": a} for n, a in pairs],
        "finish_reason": "tool_calls",
    }


READS = [
    ("list_variables", {}),
    ("describe", {"name": "conn"}),
    ("describe", {"name": "conn.boom"}),
    ("describe", {"name": "conn.lazy"}),
    ("describe", {"name": "conn.missing"}),
    ("describe", {"name": "frame"}),
    ("describe", {"name": "items"}),
    ("describe", {"name": "count"}),
    ("inspect", {"name": "conn"}),
    ("inspect", {"name": "conn.boom"}),
    ("inspect", {"name": "conn.lazy"}),
    ("inspect", {"name": "conn.missing"}),
    ("inspect", {"name": "conn.fit"}),
]
SCENARIO = {
    "turns": [
        {"match": "Look around", **_calls(*READS)},
        {"content": "Looked."},
        {"match": "flags", "content": "Seen the flags."},
        {"match": "braces", "content": "Seen the braces."},
        {"match": "unvetted", **_calls(("plain__add", {"a": 2, "b": 40}))},
        {"content": "Added, after approval."},
        {"match": "vouched", **_calls(("sure__add", {"a": 1, "b": 1}))},
        {"content": "Added, unasked."},
    ]
}
CELLS = [
    SETUP,
    "%%glm --agent\nLook around the notebook.",
    "%%glm --var conn --var frame --var items --var count\nWhat do these flags hold?",
    "%%glm\nWhat are {conn}, {frame}, {items} and {count} (braces)?",
    "import os; print(sorted(f for f in os.listdir('.') if f.startswith('hit-')))",
    f"%glm mcp add plain -- {sys.executable} {SERVER}",
    "%%glm --agent\nUse the unvetted add.",
    f"%glm mcp add --trusted sure -- {sys.executable} {SERVER}",
    "%%glm --agent\nUse the vouched-for add.",
    "%glm mcp list",
    "%glm mcp remove plain",
    "%glm mcp remove sure",
]
UNTRUSTED = 6


async def _click_when_shown(client: NotebookClient, description: str) -> None:
    """Click a button the kernel shows, as a front end would: a comm message to its model."""
    while True:
        for comm_id, state in list(client.widget_state.items()):
            if state.get("description") == description and not state.get("_clicked"):
                state["_clicked"] = True
                content = {"event": "click"}
                data = {"method": "custom", "content": content}
                msg = client.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
                client.kc.shell_channel.send(msg)
                return
        await asyncio.sleep(0.05)


async def _execute(nb: Any, env: dict[str, str], cwd: Path) -> list[str]:
    client = NotebookClient(
        nb, timeout=90, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    clicked: list[str] = []
    async with client.async_setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            helper = None
            if index == UNTRUSTED:
                helper = asyncio.ensure_future(_click_when_shown(client, "Approve"))
            await client.async_execute_cell(cell, index)
            if helper is not None:
                await asyncio.wait_for(helper, 10)
                clicked.append("Approve")
    return clicked


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[dict[str, Any]], Path]:
    cwd = tmp_path_factory.mktemp("readonly")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    with Simulator(SCENARIO) as sim:
        env = dict(
            os.environ, GLM_PROVIDER="zai", GLM_BASE_URL=sim.base_url, GLM_API_KEY="sk-ro-test"
        )
        assert asyncio.run(_execute(nb, env, cwd)) == ["Approve"]
        return nb, sim.requests, cwd


def _responses(cell: Any) -> list[dict[str, Any]]:
    return [o["data"][MIME_TYPE] for o in cell.outputs if MIME_TYPE in o.get("data", {})]


def _tool_results(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["body"]["messages"] if m["role"] == "tool"]


def test_no_hook_ran(executed: Any) -> None:
    nb, _, cwd = executed
    assert sorted(p.name for p in cwd.glob("hit-*")) == []
    printed = "".join(o.get("text", "") for o in nb.cells[4].outputs)
    assert printed == "[]\n"


def test_read_only_tools_ran_unasked_and_answered_usefully(executed: Any) -> None:
    nb, requests, _ = executed
    steps = _responses(nb.cells[1])[-1]["steps"]
    assert [s["tool"] for s in steps] == [name for name, _ in READS]
    assert {s["approval"] for s in steps} == {"read-only"}
    keys = [f"{n}:{a.get('name', '')}" for n, a in READS]
    out = dict(zip(keys, _tool_results(requests[1]), strict=True))
    listing = out["list_variables:"]
    assert "conn: Tricky\n" in listing
    assert "frame: pandas.DataFrame (3×2)" in listing
    assert "items: list (len 3)" in listing
    assert "count: Count\n" in listing
    conn = out["describe:conn"]
    assert "Tricky (not run)" in conn
    assert "A connection-like object" in conn
    assert "Instance attributes: `rows` (int = 3), `table` (str = 'sales')" in conn
    assert "Properties (not read): `boom`" in conn
    assert "Descriptors (not read): `lazy`" in conn
    assert "`__getattr__`, `__repr__`, `__str__`, `__len__`, `__iter__`, `__bool__`" in conn
    assert "is a property of `__main__.Tricky`" in out["describe:conn.boom"]
    assert "Rows in the remote table." in out["inspect:conn.boom"]
    assert "descriptor __main__.Lazy" in out["describe:conn.lazy"]
    assert "only its class's `__getattr__`" in out["describe:conn.missing"]
    for key in ("describe:conn.boom", "inspect:conn.lazy", "inspect:conn.missing"):
        assert "run_python can read it" in out[key]
    assert "<__main__.Tricky object>" in out["describe:frame"]
    assert "| 2 | None | 3 |" in out["describe:frame"]
    assert "- [0] <__main__.Tricky object>" in out["describe:items"]
    assert "- [2] 'a'" in out["describe:items"]
    assert "based on `int`" in out["describe:count"]
    assert "an instance of `__main__.Tricky`" in out["inspect:conn"]
    assert out["inspect:conn.fit"].startswith("conn.fit(k: int) -> None\n\nFit on k rows.")


def test_context_flags_and_braces_describe_without_running(executed: Any) -> None:
    _, requests, _ = executed
    flags = requests[2]["body"]["messages"][-1]["content"]
    braces = requests[3]["body"]["messages"][-1]["content"]
    for sent in (flags, braces):
        assert "### `conn` — __main__.Tricky (not run)" in sent
        assert "### `count` — __main__.Count (not run)" in sent
        assert "<__main__.Tricky object>" in sent
        assert "Tricky()" not in sent
    assert "`count` (summarised in the context above)" in braces


def test_mcp_read_only_claim_needs_a_trusted_server(executed: Any) -> None:
    nb, requests, _ = executed
    plain = _responses(nb.cells[UNTRUSTED])[-1]["steps"]
    assert [(s["tool"], s["approval"]) for s in plain] == [("plain__add", "approved")]
    sure = _responses(nb.cells[8])[-1]["steps"]
    assert [(s["tool"], s["approval"]) for s in sure] == [("sure__add", "read-only")]
    assert _tool_results(requests[-1])[-1] == "2"
    added = nb.cells[7].outputs[0]["data"]["text/markdown"]
    assert "Trusted: sure__add (marked read-only by the server) run unasked." in added
    plain_added = nb.cells[5].outputs[0]["data"]["text/markdown"]
    assert "Every call asks for approval" in plain_added
    table = nb.cells[9].outputs[0]["data"]["text/markdown"]
    assert "| plain | stdio |" in table
    assert "| every call |" in table
    assert "trusted: read-only tools run unasked |" in table
