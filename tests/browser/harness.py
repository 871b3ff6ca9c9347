"""The browser-test harness: an ASGI app served for real, Debian's Chromium driven by
Playwright, and axe-core's verdict on a page. The fixtures in ``conftest.py`` wrap it.

What this machine needs (``.ci/run`` installs both):

- Debian's Chromium at ``/usr/bin/chromium`` (``apt-get install chromium``); Playwright's
  own browser download is neither needed nor possible here;
- axe-core from npm in ``tests/browser/node_modules`` (``npm ci --prefix tests/browser``),
  the version pinned in ``tests/browser/package.json``.

A page without JavaScript. axe-core cannot run in it: Playwright still evaluates an
expression there, but the page's timers never fire and ``axe.run`` never settles. Nor
does re-asking the server for the same URL judge the same page (a POST's answer, a
one-time link, a form's error page cannot be fetched again). So ``assert_accessible``
copies the page the no-JS visitor has in front of them: the live DOM, its ``<script>``
elements removed (they did not run) and its ``<noscript>`` elements unwrapped (their
content is what that visitor sees, and a JS-enabled parser would turn it back into
text). The copy is served at the same URL, through a Playwright route, to a
JavaScript-enabled context, so relative style sheets and images load from the live
server as before and ``document.URL`` is the same; axe runs there.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, TypedDict, cast

import uvicorn
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route
from starlette.types import ASGIApp

HERE: Final = Path(__file__).resolve().parent
CHROMIUM: Final = Path("/usr/bin/chromium")
AXE_JS: Final = HERE / "node_modules" / "axe-core" / "axe.min.js"

# As root, in a closed network: no sandbox (root), and none of Chromium's own connections
# (the machine refuses them, many at a time, and Google's hosts do not resolve).
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOCALE: Final = "fr-FR"
TIMEZONE: Final = "Europe/Paris"
# The RGAA follows WCAG 2.1 A and AA.
WCAG_TAGS: Final = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

SERVER_START_TIMEOUT: Final = 10.0


def missing_tools() -> list[str]:
    """What the browser tests lack on this machine, each with how to install it."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"Debian's Chromium ({CHROMIUM}): apt-get install -y chromium")
    if not AXE_JS.is_file():
        missing.append(f"axe-core ({AXE_JS}): npm ci --prefix tests/browser")
    return missing


# --- An ASGI app on a real port ---------------------------------------------------------


@contextlib.contextmanager
def live_server(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread on 127.0.0.1 and a free port; its base
    URL (``http://127.0.0.1:PORT``, no trailing slash) once it answers. Stopped on exit.

    The socket is bound here, before the thread starts, so no other process can take the
    port in between. The app's lifespan must succeed (``lifespan="on"``). Uvicorn's
    warnings go to the ``uvicorn.error`` logger, which pytest captures; no access log."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,  # leave the logging configuration to pytest
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn:{port}", daemon=True
    )
    thread.start()
    try:
        _wait_until_answering(server, thread, port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=SERVER_START_TIMEOUT)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"uvicorn on port {port} did not stop within 10 s")


def _wait_until_answering(server: uvicorn.Server, thread: threading.Thread, port: int) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"uvicorn on port {port} stopped before serving (see its log)")
        if time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn on port {port} did not start within 10 s")
        time.sleep(0.01)
    # Any HTTP answer will do, a 404 included: the server speaks HTTP on that port.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=SERVER_START_TIMEOUT)
    try:
        connection.request("HEAD", "/")
        connection.getresponse().read()
    finally:
        connection.close()


# --- axe-core ---------------------------------------------------------------------------


class AxeNode(TypedDict):
    target: str
    html: str


class AxeViolation(TypedDict):
    id: str
    impact: str | None
    help: str
    helpUrl: str
    nodes: list[AxeNode]


class AxeReport(TypedDict):
    version: str
    url: str
    violations: list[AxeViolation]


# True where the page's scripts run: a fragment parser follows its document's scripting
# flag, and turns ``<noscript>`` content into text only where scripting is on. Evaluating
# this works in a page without JavaScript, and under any Content-Security-Policy.
_SCRIPTS_RUN = """() => {
  const probe = document.createElement('div');
  probe.innerHTML = '<noscript><i></i></noscript>';
  return probe.querySelector('i') === null;
}"""

# The page as its no-JS visitor has it: see the module's docstring.
_NO_JS_SNAPSHOT = """() => {
  const root = document.documentElement.cloneNode(true);
  for (const script of root.querySelectorAll('script')) script.remove();
  for (const noscript of root.querySelectorAll('noscript')) {
    noscript.replaceWith(...noscript.childNodes);
  }
  const doctype = document.doctype ? `<!DOCTYPE ${document.doctype.name}>` : '';
  return doctype + root.outerHTML;
}"""

_AXE_RUN = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  const selector = (target) => target.map((part) => [].concat(part).join(' >>> ')).join(' >> ');
  return {
    version: axe.version,
    url: results.url,
    violations: results.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({target: selector(n.target), html: n.html})),
    })),
  };
}"""


def assert_accessible(page: Page) -> None:
    """Fail, with axe-core's rule ids, impacts, helps and the first offending elements,
    if the page breaks a WCAG 2.1 A or AA rule that axe-core can check.

    axe-core checks a part of the RGAA only (it cannot tell whether a captcha has a
    non-graphic alternative, say): the screens' own tests check the rest. Results that
    axe marks "incomplete" (to be reviewed by a person) are not failures here."""
    report = _run_axe(page) if page.evaluate(_SCRIPTS_RUN) else _run_axe_on_a_copy(page)
    if report["violations"]:
        raise AssertionError(_describe(report))


def _run_axe(page: Page) -> AxeReport:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        try:
            page.add_script_tag(path=AXE_JS)
        except PlaywrightError as refused:
            # A Content-Security-Policy without 'unsafe-inline' refuses the script tag;
            # Playwright's own evaluation is not subject to it.
            if "Content Security Policy" not in refused.message:
                raise
            page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    return cast(AxeReport, page.evaluate(_AXE_RUN, list(WCAG_TAGS)))


def _run_axe_on_a_copy(page: Page) -> AxeReport:
    browser = page.context.browser
    if browser is None:
        raise RuntimeError("assert_accessible needs a page of a launched browser")
    html: str = page.evaluate(_NO_JS_SNAPSHOT)
    options: dict[str, Any] = {"locale": LOCALE, "timezone_id": TIMEZONE}
    if page.viewport_size is not None:
        options["viewport"] = page.viewport_size
    context = browser.new_context(
        java_script_enabled=True, storage_state=page.context.storage_state(), **options
    )
    try:
        copy = context.new_page()
        url = page.url
        if url.startswith(("http://", "https://")):
            address = url.partition("#")[0]

            def serve_the_copy(route: Route) -> None:
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

            copy.route(lambda requested: requested == address, serve_the_copy, times=1)
            copy.goto(url)
        else:  # about:blank, data: — a page made with set_content
            copy.set_content(html)
        return _run_axe(copy)
    finally:
        context.close()


def _describe(report: AxeReport, nodes_shown: int = 3) -> str:
    violations = report["violations"]
    lines = [
        f"axe-core {report['version']} finds {len(violations)} WCAG 2.1 A/AA violation(s)"
        f" on {report['url']}:"
    ]
    for violation in violations:
        nodes = violation["nodes"]
        lines.append(
            f"- {violation['id']} [{violation['impact'] or 'no impact given'}]"
            f" {violation['help']} ({len(nodes)} element(s)) {violation['helpUrl']}"
        )
        for node in nodes[:nodes_shown]:
            snippet = node["html"] if len(node["html"]) <= 120 else node["html"][:117] + "..."
            lines.append(f"    {node['target']}  {snippet}")
        if len(nodes) > nodes_shown:
            lines.append(f"    ... and {len(nodes) - nodes_shown} more")
    return "\n".join(lines)
