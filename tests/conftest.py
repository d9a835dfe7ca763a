"""Shared fixtures: simulators on loopback and an IPython shell with glm_jupyter loaded."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from glm_jupyter.simulator import Simulator

from .helpers import STRICT, write_policy

# Each folder is one kind of test, by what it needs; a test's marker and its folder agree.
FOLDER_MARKERS = {
    "unit": None,
    "kernel": "kernel",
    "browser": "browser",
    "localserver": "localserver",
    "gateway": "gateway",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by its folder, and refuse a marker that belongs to another folder."""
    here = Path(__file__).parent
    wrong = []
    for item in items:
        folder = item.path.relative_to(here).parts[0]
        if folder not in FOLDER_MARKERS:
            wrong.append(f"{item.nodeid}: tests live in {', '.join(FOLDER_MARKERS)}")
            continue
        marker = FOLDER_MARKERS[folder]
        if marker is not None:
            item.add_marker(marker)
        for other in {m for m in FOLDER_MARKERS.values() if m and m != marker}:
            if item.get_closest_marker(other) is not None:
                wrong.append(f"{item.nodeid} is marked {other}: it belongs in tests/{other}/")
    if wrong:
        raise pytest.UsageError("Tests in the wrong folder:\n" + "\n".join(wrong))


@pytest.fixture
def simulator() -> Iterator[Callable[..., Simulator]]:
    """Factory: `simulator(scenario, dialect="zai")` starts one; all stop after the test."""
    with ExitStack() as stack:

        def start(scenario: Any = None, dialect: str | None = None) -> Simulator:
            return stack.enter_context(Simulator(scenario, dialect=dialect))

        yield start


@pytest.fixture(scope="session")
def _ipython() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "glm_jupyter")
    return shell


@pytest.fixture
def shell(_ipython: Any) -> Iterator[Any]:
    """The session's IPython shell with glm_jupyter loaded, settings and memory reset."""
    import os

    from glm_jupyter.ipython.extension import _ACTIVE

    saved = dict(os.environ)
    names = set(_ipython.user_ns)
    for name in (
        "GLM_PROVIDER",
        "GLM_BASE_URL",
        "GLM_MODEL",
        "GLM_API_KEY",
        "ZAI_API_KEY",
        "ZHIPUAI_API_KEY",
        "OPENROUTER_API_KEY",
        "OXEN_API_KEY",
    ):
        os.environ.pop(name, None)
    magics = _ACTIVE[id(_ipython)]
    config = magics.session.config
    defaults = {name: trait.default() for name, trait in config.traits(config=True).items()}
    _ipython.run_line_magic("config", "GLM.renderer = 'display'")
    _ipython.run_line_magic("config", "GLM.retry_backoff = 0.001")
    yield _ipython
    for name, value in defaults.items():
        setattr(config, name, value)
    config.config.pop("GLM", None)
    magics.session.conversation.reset()
    magics.session.ledger.models.clear()
    magics.session.close()
    os.environ.clear()
    os.environ.update(saved)
    for name in set(_ipython.user_ns) - names:  # each test starts from the same namespace
        del _ipython.user_ns[name]
    from glm_jupyter.agent.tools import USER_TOOLS

    USER_TOOLS.clear()


@pytest.fixture
def classroom(shell: Any, tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """`classroom(rules)`: the shell's session under a policy file, as if found at load."""
    from glm_jupyter.core.guard import PolicyGuard
    from glm_jupyter.ipython.extension import _ACTIVE

    session = _ACTIVE[id(shell)].session
    saved = session.policy

    def install(rules: Any = STRICT) -> Path:
        path = write_policy(tmp_path / "admin" / "glm_policy.json", rules)
        session.policy = PolicyGuard.locate({"GLM_POLICY": str(path)}, ledger=session.ledger)
        return path

    yield install
    session.policy = saved


@pytest.fixture(autouse=True, scope="session")
def _runs_kept_apart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Agent run logs of kernels started by module fixtures stay out of the home folder too."""
    saved = os.environ.get("GLM_RUNS_DIR")
    os.environ["GLM_RUNS_DIR"] = str(tmp_path_factory.mktemp("glm-runs-shared"))
    yield
    if saved is None:
        os.environ.pop("GLM_RUNS_DIR", None)
    else:
        os.environ["GLM_RUNS_DIR"] = saved


@pytest.fixture(autouse=True)
def _own_cache_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Each test's model listings, default batch cache and agent run logs in folders of its own."""
    from glm_jupyter.wire.listing import forget

    monkeypatch.setenv("GLM_CACHE_DIR", str(tmp_path_factory.mktemp("glm-cache")))
    monkeypatch.setenv("GLM_RUNS_DIR", str(tmp_path_factory.mktemp("glm-runs")))
    forget()
    yield
    forget()
