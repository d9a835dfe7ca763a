"""The import rule: stages import one way, nothing imports in a circle, IPython only at the edge.

Every import counts, the ones inside functions and under `TYPE_CHECKING` too: an import that
is only deferred is still a dependency, and a cycle broken at run time is still a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import glm_jupyter

PACKAGE = Path(glm_jupyter.__file__).parent

# Lowest first: a module may import its own stage and the stages below, never a peer or above.
# The base modules (the vocabulary every stage speaks) may use one another, in no circle.
STAGES: list[set[str]] = [
    {"_version", "errors", "redact", "messages", "reply", "schemas", "durations"},
    {"config"},
    {"wire", "context"},
    {"display"},
    {"core"},
    {"agent", "batch", "completion", "gateway"},
    {"ipython"},
    {"examples"},
    {"__init__", "cli", "server"},
]
APART = "simulator"  # a program of its own: it speaks the protocol and imports only the base
EDGE = {"ipython", "display"}  # the only stages that touch IPython and ipywidgets
FRONT_END = ("IPython", "ipywidgets", "ipykernel")


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, wherever the import statement stands."""
    name = _name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
                if node.module is None:  # `from .. import errors`: the modules themselves
                    found.update(f"{module}.{alias.name}" for alias in node.names)
                    continue
            else:
                module = node.module or ""
            found.add(module)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            # `glm_jupyter.core.turn` names a module; `glm_jupyter.errors.GLMError` does not.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and imported != "glm_jupyter":
                targets.add(imported)
        graph[name] = targets
    return graph


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _level(stage: str) -> int:
    return next(i for i, names in enumerate(STAGES) if stage in names)


def test_every_stage_is_placed() -> None:
    placed = set().union(*STAGES) | {APART}
    assert {_stage(m) for m in _graph()} <= placed


def test_imports_point_one_way() -> None:
    wrong = []
    for module, targets in sorted(_graph().items()):
        here = _stage(module)
        for target in sorted(targets):
            there = _stage(target)
            if here == there:
                continue
            if here == APART or there == APART:
                ok = there == APART and here in ("cli", "examples", "__init__")
                ok = ok or (here == APART and _level(there) == 0)
            else:
                ok = _level(there) < _level(here) or _level(here) == _level(there) == 0
            if not ok:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_no_module_imports_in_a_circle() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_only_the_edge_imports_ipython() -> None:
    strays = []
    for path in PACKAGE.rglob("*.py"):
        module = _name(path)
        if _stage(module) in EDGE:
            continue
        for imported in _imports(path):
            if imported.split(".")[0] in FRONT_END:
                strays.append(f"{module} imports {imported}")
    assert strays == []


def test_the_session_loads_no_ipython() -> None:
    code = (
        "import sys, glm_jupyter\n"
        "glm_jupyter.Session, glm_jupyter.Client, glm_jupyter.map\n"
        "from glm_jupyter.core.session import Session\n"
        "Session(env={'GLM_PROVIDER': 'ollama'}).settings()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{FRONT_END!r})\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_loading_the_extension_leaves_the_agent_unloaded() -> None:
    # `%load_ext` is paid by every notebook; the agent package loads on the first agent request.
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'glm_jupyter')\n"
        "assert 'glm_jupyter.ipython.magics' in sys.modules\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('glm_jupyter.agent'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
