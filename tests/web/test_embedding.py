"""The screens under a prefix in the three hosts a Python site runs on (W1, W3): a
Starlette ``Mount``, Flask through werkzeug's ``DispatcherMiddleware`` and ``a2wsgi``,
and Django 5.2 beside the screens in one ASGI composition. Each walks the same path
under ``/peps``: the login page, every link and form in it, its style sheet, the login
form posted with the page's own CSRF token, the signed-in space and the page one link
away that names the person; and the host's own page still answers."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import django  # type: ignore[import-untyped]
import httpx2
import pytest
from a2wsgi import ASGIMiddleware
from django.conf import settings as django_settings  # type: ignore[import-untyped]
from django.core.asgi import get_asgi_application  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.test.utils import override_settings  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from tests.web.helpers import SECRET, text_of
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import TestResponse

from peps_onboarding.testing import PASSWORD, Journey
from peps_onboarding.web import WebSettings, create_app

PREFIX = "/peps"
_LINK = re.compile(r'\b(?:href|action|src)="([^"]*)"')
_FORM = re.compile(r"<form\b[^>]*\baction=\"([^\"]*)\"[^>]*>(.*?)</form>", re.DOTALL)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class Answer:
    """What a test client answered, whichever client it was."""

    status: int
    text: str
    content_type: str
    location: str | None
    cookies: tuple[str, ...]  # the Set-Cookie headers


Get = Callable[[str], Answer]
Post = Callable[[str, dict[str, str]], Answer]


def walk(get: Get, post: Post, identifier: str) -> None:
    """The login page and its links, its style sheet, the login form, the space: all
    under the prefix, redirections included."""
    page = get(f"{PREFIX}/connexion")
    assert page.status == 200, page.text
    rooted = [link for link in _LINK.findall(page.text) if link.startswith("/")]
    assert rooted, "no link at all in the login page"
    outside = [link for link in rooted if not link.startswith(f"{PREFIX}/")]
    assert outside == [], f"links that escape the mount: {outside}"

    sheets = [link for link in rooted if link.endswith(".css")]
    assert sheets, rooted
    sheet = get(sheets[0])
    assert sheet.status == 200 and sheet.content_type.startswith("text/css"), sheets[0]

    (action, token) = next(
        (action, _CSRF.search(body))
        for action, body in _FORM.findall(page.text)
        if 'name="identifiant"' in body
    )
    assert token, "the login form has no CSRF token"
    assert action == f"{PREFIX}/connexion"
    sent = post(
        action, {"csrf": token.group(1), "identifiant": identifier, "mot_de_passe": PASSWORD}
    )
    assert sent.status == 303, text_of(sent.text)
    assert sent.location == f"{PREFIX}/espace"

    space = get(sent.location)
    assert space.status == 200, text_of(space.text)
    assert "Vous êtes connecté" in text_of(space.text)
    rooted = [link for link in _LINK.findall(space.text) if link.startswith("/")]
    assert all(link.startswith(f"{PREFIX}/") for link in rooted), rooted
    # « Mon espace » names the establishment; « Mes intervenants », one link away, the person.
    members = get(f"{PREFIX}/mon-etablissement/intervenants")
    assert f"{PREFIX}/mon-etablissement/intervenants" in rooted
    assert members.status == 200 and identifier in text_of(members.text)


def screens(journey: Journey) -> Starlette:
    return create_app(journey.platform, WebSettings(secret_key=SECRET, secure_cookies=False))


# --- Starlette -------------------------------------------------------------------------


def from_httpx(client: TestClient) -> tuple[Get, Post]:
    def answer(response: httpx2.Response) -> Answer:
        return Answer(
            status=response.status_code,
            text=response.text,
            content_type=response.headers.get("content-type", ""),
            location=response.headers.get("location"),
            cookies=tuple(response.headers.get_list("set-cookie")),
        )

    def get(url: str) -> Answer:
        return answer(client.get(url, follow_redirects=False))

    def post(url: str, data: dict[str, str]) -> Answer:
        return answer(client.post(url, data=data, follow_redirects=False))

    return get, post


async def host_home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Le site hôte")


@pytest.mark.rule("W1", "W3")
def test_the_screens_work_mounted_in_a_starlette_host(journey: Journey) -> None:
    identifier = journey.enrolled_administrator()
    host = Starlette(routes=[Route("/", host_home), Mount(PREFIX, app=screens(journey))])
    with TestClient(host) as client:
        walk(*from_httpx(client), identifier)
        assert client.get("/").text == "Le site hôte"


async def host_cookies(request: Request) -> PlainTextResponse:
    return PlainTextResponse(" ".join(sorted(request.cookies)))


@pytest.mark.rule("W3")
def test_the_session_cookie_stays_under_the_mount(journey: Journey) -> None:
    """The session cookie is scoped to the mount: the host's other pages never receive
    it, and a second mount on the same host (a demonstration beside the real screens,
    its own secret) does not overwrite the first one's session."""
    demo = create_app(
        Journey.start().platform,
        WebSettings(secret_key=SECRET[::-1], secure_cookies=False),
    )
    host = Starlette(
        routes=[
            Route("/cookies", host_cookies),
            Mount(PREFIX, app=screens(journey)),
            Mount("/demo", app=demo),
        ]
    )
    identifier = journey.enrolled_administrator()
    with TestClient(host) as client:
        get, post = from_httpx(client)
        page = get(f"{PREFIX}/connexion")
        paths = [
            re.findall(r";\s*path=([^;]*)", cookie, re.IGNORECASE)
            for cookie in page.cookies
            if cookie.startswith("peps_session=")
        ]
        assert paths == [[PREFIX]], f"the session cookie's Path: {paths}"
        token = _CSRF.search(page.text)
        assert token
        post(
            f"{PREFIX}/connexion",
            {"csrf": token.group(1), "identifiant": identifier, "mot_de_passe": PASSWORD},
        )
        assert "peps_session" not in get("/cookies").text.split()
        assert get("/demo/connexion").status == 200
        assert get(f"{PREFIX}/espace").status == 200, "the demo signed the person out"


# --- Flask -----------------------------------------------------------------------------


@pytest.fixture
def event_loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    """The loop a2wsgi runs the screens on, in its own thread, closed after the test (the
    one a2wsgi would make itself is never closed)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    # Shut down on the loop's own thread: the calling thread may already have a running
    # loop of its own (Playwright's sync API keeps one), and may not run another.
    asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@pytest.mark.rule("W1", "W3")
def test_the_screens_work_mounted_in_a_flask_host(
    journey: Journey, event_loop_thread: asyncio.AbstractEventLoop
) -> None:
    identifier = journey.enrolled_administrator()
    app = Flask(__name__)

    @app.get("/")
    def flask_home() -> str:
        return "Le site Flask"

    # a2wsgi's and werkzeug's annotations of ASGI and WSGI callables do not meet.
    mounted = ASGIMiddleware(screens(journey), loop=event_loop_thread)  # type: ignore[arg-type]
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app,
        {PREFIX: mounted},  # type: ignore[dict-item]
    )
    client = app.test_client()

    def answer(response: TestResponse) -> Answer:
        return Answer(
            status=response.status_code,
            text=response.get_data(as_text=True),
            content_type=response.headers.get("Content-Type", ""),
            location=response.headers.get("Location"),
            cookies=tuple(response.headers.getlist("Set-Cookie")),
        )

    def get(url: str) -> Answer:
        return answer(client.get(url))

    def post(url: str, data: dict[str, str]) -> Answer:
        return answer(client.post(url, data=data))

    walk(get, post, identifier)
    assert client.get("/").get_data(as_text=True) == "Le site Flask"


# --- Django ----------------------------------------------------------------------------


def django_home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Le site Django")


#: This module is the Django project's URLconf.
urlpatterns = [path("", django_home)]


@pytest.fixture
def django_project() -> Iterator[None]:
    """Django's settings, configured once for the process (a project names its settings
    module instead); this module's URLconf for the test, whoever configured them."""
    if not django_settings.configured:
        django_settings.configure(
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF=__name__,
            SECRET_KEY=SECRET,
            LOGGING_CONFIG=None,  # leave the test process's logging alone
        )
        django.setup()
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"]):
        yield


@pytest.mark.rule("W1", "W3")
@pytest.mark.usefixtures("django_project")
def test_the_screens_work_beside_django_in_one_asgi_application(journey: Journey) -> None:
    identifier = journey.enrolled_administrator()
    # What the project's asgi.py does: the screens under the prefix, Django for the rest.
    application = Starlette(
        routes=[Mount(PREFIX, app=screens(journey)), Mount("/", app=get_asgi_application())]
    )
    with TestClient(application) as client:
        walk(*from_httpx(client), identifier)
        home = client.get("/")
        assert home.status_code == 200 and home.text == "Le site Django"
