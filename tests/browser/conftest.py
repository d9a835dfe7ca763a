"""Browser fixtures: one Jupyter server and one Chromium for the session, a fresh page per test.

A page that logs a JavaScript error (an uncaught exception or a console error) fails its test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .lab import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_WAIT_MS,
    Server,
    environment_problem,
    jupyter_server,
    shot,
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab and Notebook 7 on loopback, their kernels pointed at the simulator."""
    for stale in ARTIFACTS.glob("FAILED-*.png"):  # screenshots of an earlier run's failures
        stale.unlink()
    with jupyter_server(tmp_path_factory.mktemp("jupyter")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, per module.

    Playwright's sync API keeps its event loop marked as running in this thread while it is
    open, so it must be closed before any asyncio test of another module runs.
    """
    problem = environment_problem()
    if problem:
        pytest.fail(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


class PageErrors(list[str]):
    """JavaScript errors a page reported."""

    upstream: tuple[str, ...] = ()

    def check(self) -> None:
        """Fail the test if the page logged any JavaScript error not known to be upstream's."""
        errors = [e for e in self if not any(known in e for known in self.upstream)]
        assert not errors, "the page logged JavaScript errors:\n" + "\n".join(errors)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so the page fixture can see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page whose JavaScript errors fail the test; the simulator starts over."""
    server.sim.reset(turns=True)
    context = browser.new_context(viewport={"width": 1280, "height": 960})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    context.set_default_timeout(PAGE_WAIT_MS)
    new = context.new_page()
    errors = PageErrors()
    new.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    new.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    new.js_errors = errors
    yield new
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        shot(new, f"FAILED-{request.node.name}")
    context.close()
    errors.check()
