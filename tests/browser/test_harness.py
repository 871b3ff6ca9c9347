"""The harness itself, on a small Starlette app made here: Chromium reads what uvicorn
serves, a page without JavaScript runs no script, and axe-core passes a labelled form
and fails an unlabelled one, with or without JavaScript."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp
from tests.browser import harness

Serve = Callable[[ASGIApp], str]
Check = Callable[[Page], None]

STYLE = "body { font-family: sans-serif; color: #1e1e1e; background: #fff; }"


def _document(body: str, title: str = "Inscription") -> str:
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="/style.css">
</head>
<body>
<main>
  <h1>{title}</h1>
  {body}
</main>
</body>
</html>"""


LABELLED = _document("""
  <p id="script-state">sans JavaScript</p>
  <script>document.getElementById('script-state').textContent = 'avec JavaScript';</script>
  <form method="post" action="/">
    <label for="email">Adresse électronique</label>
    <input id="email" name="email" type="email" autocomplete="email">
    <button type="submit">Continuer</button>
  </form>""")

UNLABELLED = _document("""
  <form method="post" action="/">
    <input id="email" name="email" type="email">
    <button type="submit">Continuer</button>
  </form>""")

# An unlabelled field that only visitors without JavaScript see.
NOSCRIPT_UNLABELLED = _document("""
  <noscript><input id="secours" name="secours" type="text"></noscript>
  <p>Une page.</p>""")


def _page(content: str, headers: dict[str, str] | None = None) -> Callable[[Request], HTMLResponse]:
    def endpoint(request: Request) -> HTMLResponse:
        return HTMLResponse(content, headers=headers)

    return endpoint


def _style(request: Request) -> HTMLResponse:
    return HTMLResponse(STYLE, media_type="text/css")


APP = Starlette(
    routes=[
        Route("/", _page(LABELLED)),
        Route("/sans-etiquette", _page(UNLABELLED)),
        Route("/noscript", _page(NOSCRIPT_UNLABELLED)),
        # A strict policy, as the screens send: inline scripts, axe's tag included, refused.
        Route("/csp", _page(LABELLED, {"Content-Security-Policy": "default-src 'self'"})),
        Route("/style.css", _style),
    ]
)


def test_chromium_reads_the_served_page_in_french_and_paris_time(serve: Serve, page: Page) -> None:
    base_url = serve(APP)
    assert base_url.startswith("http://127.0.0.1:")
    response = page.goto(base_url + "/")
    assert response is not None and response.status == 200
    assert page.title() == "Inscription"
    assert page.evaluate("navigator.language") == "fr-FR"
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Europe/Paris"


def test_scripts_run_with_javascript(serve: Serve, page: Page) -> None:
    page.goto(serve(APP) + "/")
    assert page.text_content("#script-state") == "avec JavaScript"


def test_no_script_runs_without_javascript(serve: Serve, page_without_js: Page) -> None:
    page_without_js.goto(serve(APP) + "/")
    assert page_without_js.text_content("#script-state") == "sans JavaScript"


def test_the_server_stops_after_its_block() -> None:
    with harness.live_server(APP) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/")
        assert connection.getresponse().status == 200
        connection.close()
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=5).connect()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_labelled_form_passes(
    serve: Serve, request: pytest.FixtureRequest, assert_accessible: Check, javascript: bool
) -> None:
    visitor: Page = request.getfixturevalue("page" if javascript else "page_without_js")
    visitor.goto(serve(APP) + "/")
    assert_accessible(visitor)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_an_unlabelled_field_fails_with_the_rule_and_the_field(
    serve: Serve, request: pytest.FixtureRequest, assert_accessible: Check, javascript: bool
) -> None:
    visitor: Page = request.getfixturevalue("page" if javascript else "page_without_js")
    url = serve(APP) + "/sans-etiquette"
    visitor.goto(url)
    with pytest.raises(AssertionError) as failure:
        assert_accessible(visitor)
    message = str(failure.value)
    assert "\n- label [critical] " in message
    assert "#email" in message
    assert url in message  # the copy a page without JavaScript is judged on has its URL


def test_axe_runs_under_a_content_security_policy(
    serve: Serve, page: Page, assert_accessible: Check
) -> None:
    page.goto(serve(APP) + "/csp")
    assert page.text_content("#script-state") == "sans JavaScript"  # the policy holds
    assert_accessible(page)


def test_noscript_content_is_judged_as_a_visitor_without_javascript_sees_it(
    serve: Serve, page: Page, page_without_js: Page, assert_accessible: Check
) -> None:
    url = serve(APP) + "/noscript"
    page.goto(url)
    assert_accessible(page)  # with JavaScript, the <noscript> field is not there
    page_without_js.goto(url)
    with pytest.raises(AssertionError, match=r"- label \[critical\][^\n]*\n +#secours"):
        assert_accessible(page_without_js)


def test_a_page_made_with_set_content_is_judged_too(
    page_without_js: Page, assert_accessible: Check
) -> None:
    page_without_js.set_content(UNLABELLED)
    with pytest.raises(AssertionError, match=r"- label \["):
        assert_accessible(page_without_js)


def test_what_is_missing_is_said_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert harness.missing_tools() == []
    monkeypatch.setattr(harness, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.setattr(harness, "AXE_JS", tmp_path / "axe.min.js")
    assert harness.missing_tools() == [
        f"Debian's Chromium ({tmp_path / 'chromium'}): apt-get install -y chromium",
        f"axe-core ({tmp_path / 'axe.min.js'}): npm ci --prefix tests/browser",
    ]
