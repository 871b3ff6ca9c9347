"""The factory a host calls: :func:`create_app` builds the screens from a platform and
web settings, as one ASGI application to mount under any prefix."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ..application.platform import Platform
from .account import Account
from .administration import Administration
from .applicant import Applicant
from .demo import DemoControls, demo_routes
from .net_entreprises import NetEntreprises
from .pages import Pages
from .security import CsrfRefusedError, FormTooLargeError, SecurityHeaders
from .settings import WebSettings

__all__ = ["create_app"]


class MountedSessions:
    """The session cookie's path is the mount (``root_path``): neither the host's other
    pages nor a second mount on the same host receive it, or overwrite it."""

    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
        self.app = app
        self.settings = settings
        self.by_path: dict[str, SessionMiddleware] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("root_path") or "/")
        middleware = self.by_path.get(path)
        if middleware is None:
            middleware = SessionMiddleware(
                self.app,
                secret_key=self.settings.secret_key,
                session_cookie=self.settings.cookie_name,
                max_age=None,  # a browser-session cookie; idleness is IdleSessions' job
                path=path,
                same_site="lax",
                https_only=self.settings.secure_cookies,
            )
            self.by_path[path] = middleware
        await middleware(scope, receive, send)


class IdleSessions:
    """A signed-in person idle beyond ``session_idle`` is signed out; any request they
    make while signed in counts as activity."""

    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
        self.app = app
        self.idle = settings.session_idle.total_seconds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "session" in scope:
            session = scope["session"]
            seen = session.get("seen")
            if session.get("user") is not None:
                if not isinstance(seen, int) or time.time() - seen > self.idle:
                    for key in ("user", "seen"):
                        session.pop(key, None)
                    session["expiree"] = True
                else:
                    session["seen"] = int(time.time())
        await self.app(scope, receive, send)


def create_app(
    platform: Platform, settings: WebSettings, *, demo: DemoControls | None = None
) -> Starlette:
    """Rules W1–W5: every screen of the seeds. Mount the result where the e-mails'
    links point (the platform's ``base_url``)::

        app = Starlette(routes=[Mount("/peps", create_app(platform, settings))])

    ``demo``: a demonstration's controls, served under ``/demo`` only when
    ``settings.demo`` (``peps-onboarding serve --demo``)."""
    pages = Pages(platform, settings)
    applicant, account, net = Applicant(pages), Account(pages), NetEntreprises(pages)
    admin = Administration(pages)
    paths = platform.link_paths  # the e-mails' links land on these very routes
    routes = [
        Route("/", applicant.home, name="home"),
        Route(paths.login, account.login, name="login"),
        Route(paths.login, account.submit_login, methods=["POST"], name="login_form"),
        Route("/deconnexion", account.logout, methods=["POST"], name="logout"),
        Route("/session/prolonger", account.extend, methods=["POST"], name="extend"),
        Route("/espace", account.space, name="space"),
        Route(
            "/mon-etablissement/intervenants",
            account.establishment_members,
            name="establishment_members",
        ),
        Route("/identifiant-oublie", account.forgotten_identifier, name="forgotten_identifier"),
        Route(
            "/identifiant-oublie",
            account.submit_forgotten_identifier,
            methods=["POST"],
            name="forgotten_identifier_form",
        ),
        Route("/mot-de-passe-oublie", account.forgotten_password, name="forgotten_password"),
        Route(
            "/mot-de-passe-oublie",
            account.submit_forgotten_password,
            methods=["POST"],
            name="forgotten_password_form",
        ),
        Route(paths.password_reset, account.reset, name="reset"),
        Route(
            paths.password_reset,
            account.submit_reset,
            methods=["POST"],
            name="reset_form",
        ),
        Route("/inscription", applicant.step_one, name="step_one"),
        Route("/inscription", applicant.submit_step_one, methods=["POST"], name="step_one_form"),
        Route(
            "/inscription/administrateurs",
            applicant.all_administrators,
            name="all_administrators",
        ),
        Route("/inscription/nouveau-lien", applicant.resend, methods=["POST"], name="resend"),
        Route("/inscription/etape-2", applicant.step_two, name="step_two"),
        Route(
            "/inscription/etape-2",
            applicant.submit_step_two,
            methods=["POST"],
            name="step_two_form",
        ),
        Route("/inscription/etape-3", applicant.step_three, name="step_three"),
        Route(paths.password_creation, applicant.password_creation, name="password_creation"),
        Route(
            paths.password_creation,
            applicant.submit_password_creation,
            methods=["POST"],
            name="password_creation_form",
        ),
        Route(paths.withdrawal, applicant.withdrawal, name="withdrawal"),
        Route(
            paths.withdrawal,
            applicant.submit_withdrawal,
            methods=["POST"],
            name="withdrawal_form",
        ),
        Route("/net-entreprises/connexion", net.sign_in, name="net_entreprises_sign_in"),
        Route(
            "/net-entreprises/connexion",
            net.submit_sign_in,
            methods=["POST"],
            name="net_entreprises_sign_in_form",
        ),
        Route("/net-entreprises/completer", net.completion, name="net_entreprises_completion"),
        Route(
            "/net-entreprises/completer",
            net.submit_completion,
            methods=["POST"],
            name="net_entreprises_completion_form",
        ),
        Route("/gestion-des-comptes", admin.members, name="accounts"),
        Route("/gestion-des-comptes/creer", admin.new_user, name="new_user"),
        Route(
            "/gestion-des-comptes/creer",
            admin.create_user,
            methods=["POST"],
            name="create_user",
        ),
        Route("/gestion-des-comptes/{identifier}", admin.member, name="member"),
        Route(
            "/gestion-des-comptes/{identifier}/droits",
            admin.set_rights,
            methods=["POST"],
            name="member_rights",
        ),
        Route(
            "/gestion-des-comptes/{identifier}/{action}",
            admin.act,
            methods=["POST"],
            name="member_action",
        ),
        Route(
            "/controle-de-securite/{challenge}/{part}",
            applicant.security_check_media,
            name="security_check_media",
        ),
        Mount(
            "/static",
            app=StaticFiles(packages=[("peps_onboarding.web", "static")]),
            name="static",
        ),
    ]
    if settings.demo:
        routes.extend(demo_routes(pages, demo))

    async def refused(request: Request, exc: Exception) -> Response:
        return pages.render(request, "peps/errors/csrf.html", status_code=403)

    async def too_large(request: Request, exc: Exception) -> Response:
        return pages.render(request, "peps/errors/too_large.html", status_code=413)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return pages.render(request, "peps/errors/not_found.html", status_code=exc.status_code)

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, settings=settings),
            Middleware(MountedSessions, settings=settings),
            Middleware(IdleSessions, settings=settings),
        ],
        exception_handlers={
            CsrfRefusedError: refused,
            FormTooLargeError: too_large,
            HTTPException: http_error,
        },
    )
    app.state.paths = {}
    return app
