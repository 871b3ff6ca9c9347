"""Rendering: one Jinja2 environment (the host's folders first, so any page or partial
can be overridden by name), the filters that put dates in Paris time, and what every
page needs (the CSRF token, who is signed in, the links a host configured)."""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import anyio.to_thread
import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Router

from ..application.platform import Platform
from ..domain.wording import PARIS
from .security import csrf_token
from .settings import WebSettings

__all__ = ["Pages", "paris_date", "paris_time"]

T = TypeVar("T")

#: The request being rendered, so that partials imported without the page's context
#: (Jinja caches those, which keeps rendering cheap) still build links and tokens.
_RENDERING: ContextVar[Request] = ContextVar("peps_rendering")


def paris_date(value: date | datetime | None) -> str:
    """« 21/03/2024 »; a moment is first put in Paris time."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(PARIS).date()
    return f"{value:%d/%m/%Y}"


def paris_time(value: datetime | None) -> str:
    """« 21/03/2024 à 10:30 »."""
    if value is None:
        return ""
    local = value.astimezone(PARIS)
    return f"{local:%d/%m/%Y} à {local:%H:%M}"


class Pages:
    """What the routes share: the platform, the settings and the templates."""

    def __init__(self, platform: Platform, settings: WebSettings) -> None:
        self.platform = platform
        self.settings = settings
        self._hashing: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anyio.CapacityLimiter
        ] = weakref.WeakKeyDictionary()
        loaders: list[jinja2.BaseLoader] = (
            [jinja2.FileSystemLoader(list(settings.template_dirs))]
            if settings.template_dirs
            else []
        )
        loaders.append(jinja2.PackageLoader("peps_onboarding.web", "templates"))
        self.environment = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            auto_reload=False,  # templates do not change under a running server
            lstrip_blocks=True,
        )
        self.environment.filters["paris_date"] = paris_date
        self.environment.filters["paris_time"] = paris_time
        self.environment.globals.update(
            url=lambda route, **params: url(_RENDERING.get(), route, **params),
            static=lambda path: url(_RENDERING.get(), "static", path=path),
            csrf_token=lambda: csrf_token(_RENDERING.get()),
            settings=settings,
        )

    async def hashing(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A use case that hashes or verifies a password, off the event loop, at most
        ``hashing_threads`` at once: Argon2 is made to fill the cores, and more at once
        only makes each slower and starves the threads that serve pages."""
        loop = asyncio.get_running_loop()
        limiter = self._hashing.get(loop)
        if limiter is None:
            limiter = anyio.CapacityLimiter(self.settings.hashing_threads or os.cpu_count() or 1)
            self._hashing[loop] = limiter
        return await anyio.to_thread.run_sync(
            functools.partial(call, *args, **kwargs), limiter=limiter
        )

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        values: dict[str, Any] = {
            "request": request,
            "signed_in": signed_in(request),
            "session_ends": session_ends(request, self.settings),
            "errors": {},
            "values": {},
            "summary": None,
            "dead": None,
            "help": False,
            "token": "",
            "expired": False,
        }
        values.update(context or {})
        rendering = _RENDERING.set(request)
        try:
            html = self.environment.get_template(name).render(values)
        finally:
            _RENDERING.reset(rendering)
        return HTMLResponse(html, status_code=status_code)


def url(request: Request, route: str, **params: str) -> str:
    """A path under wherever the host mounted the screens: our own router's path (a
    host's router is the one ``scope["router"]`` names under a mount) after the prefix."""
    prefix = str(request.scope.get("root_path", ""))
    # Starlette walks every route for each name, and a page asks for a dozen links: each
    # route's path is asked once, per application, with markers where parameters go.
    names = tuple(sorted(params))
    known: dict[tuple[str, tuple[str, ...]], str] = request.app.state.paths
    pattern = known.get((route, names))
    if pattern is None:
        router: Router = request.app.router
        markers = {name: f"\x00{name}\x00" for name in names}
        pattern = known[(route, names)] = str(router.url_path_for(route, **markers))
    for name in names:
        safe = "/" if name == "path" else ""  # a static file may sit in a folder
        pattern = pattern.replace(f"\x00{name}\x00", quote(params[name], safe=safe))
    return prefix + pattern


def redirect(request: Request, route: str, **params: str) -> RedirectResponse:
    """After a successful POST: 303, so a reload does not submit again."""
    return RedirectResponse(url(request, route, **params), status_code=303)


def signed_in(request: Request) -> str | None:
    identifier = request.session.get("user")
    return identifier if isinstance(identifier, str) else None


def session_ends(request: Request, settings: WebSettings) -> datetime | None:
    seen = request.session.get("seen")
    if signed_in(request) is None or not isinstance(seen, (int, float)):
        return None
    return datetime.fromtimestamp(seen + settings.session_idle.total_seconds(), UTC)
