"""Fixtures for the browser tests: every test of this folder is marked ``browser``.

- ``serve(app) -> base_url``: the app served by uvicorn on 127.0.0.1, stopped after
  the test (``harness.live_server``);
- ``browser``: Debian's Chromium, headless, one for the session;
- ``page`` and ``page_without_js``: a page in a new context of its own (French locale,
  Paris time), with and without JavaScript;
- ``assert_accessible(page)``: axe-core's WCAG 2.1 A/AA verdict on the page, with or
  without JavaScript (``harness.assert_accessible``).

Missing Chromium or axe-core fails these tests, with how to install them; never skips.
Playwright is driven directly: pytest-playwright's fixtures warn under pytest 9, and
``filterwarnings = error`` turns that into failures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from starlette.types import ASGIApp
from tests.browser import harness

# Playwright waits up to 30 s by default; a page of a local server needs far less.
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(harness.HERE):
            item.add_marker(pytest.mark.browser)


def _require_tools() -> None:
    missing = harness.missing_tools()
    if missing:
        pytest.fail(
            "The browser tests need, on this machine: " + "; ".join(missing),
            pytrace=False,
        )


@pytest.fixture
def serve() -> Iterator[Callable[[ASGIApp], str]]:
    """``serve(app)`` serves an ASGI app for real and returns its base URL
    (``http://127.0.0.1:PORT``); every app it served stops after the test."""
    with contextlib.ExitStack() as servers:

        def start(app: ASGIApp) -> str:
            return servers.enter_context(harness.live_server(app))

        yield start


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    _require_tools()
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=harness.CHROMIUM, headless=True, args=list(harness.CHROMIUM_ARGS)
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


def _context(browser: Browser, *, javascript: bool) -> BrowserContext:
    context = browser.new_context(
        java_script_enabled=javascript, locale=harness.LOCALE, timezone_id=harness.TIMEZONE
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = _context(browser, javascript=True)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page_without_js(browser: Browser) -> Iterator[Page]:
    context = _context(browser, javascript=False)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def assert_accessible(browser: Browser) -> Callable[[Page], None]:
    """``assert_accessible(page)``: see ``harness.assert_accessible``."""
    return harness.assert_accessible
