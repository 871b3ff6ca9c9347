"""A demonstration's controls (``WebSettings.demo``), under ``/demo``: the simulated
clock and a form to move it forward, the e-mails and letters the platform sent, and
the sample establishments to try.

The screens never build these themselves (they speak only to the use cases): whoever
starts a demonstration (``peps-onboarding serve --demo``) hands them a
:class:`DemoControls`, with the clock and what its mailer and letter sender kept.
Every GET only reads; moving the clock, the sweep and the dispatch are POSTs with the
CSRF token (W2).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from attrs import frozen
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..config import ConfigError
from ..domain.notifications import EmailMessage, Letter
from .pages import Pages, url
from .security import read_form

__all__ = [
    "DemoControls",
    "DemoSample",
    "SentEmail",
    "SentLetter",
    "demo_routes",
    "linked",
]

#: The clock moves by whole days, up to ten years at once.
MAX_DAYS = 3650
_LINK = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)»"


@frozen(kw_only=True)
class SentEmail:
    """An e-mail the demonstration's mailer kept, and when (on the simulated clock)."""

    at: datetime
    message: EmailMessage


@frozen(kw_only=True)
class SentLetter:
    """A letter the demonstration's letter sender kept, and when."""

    at: datetime
    letter: Letter


@frozen(kw_only=True)
class DemoSample:
    """A pair to type at step 1, and what to expect of it."""

    siret: str
    contract: str
    designation: str
    note: str = ""


@frozen(kw_only=True)
class DemoControls:
    """What a demonstration hands :func:`~peps_onboarding.web.create_app` (``demo=``):
    ``now`` and ``advance`` move its simulated clock; ``emails`` and ``letters`` list
    what was sent, oldest first; ``security_check`` says how to answer step 1's check;
    ``net_entreprises`` lists simulated Net-Entreprises accounts (SIRET, nom, prénom,
    mot de passe)."""

    now: Callable[[], datetime]
    advance: Callable[[timedelta], object]
    emails: Callable[[], Sequence[SentEmail]]
    letters: Callable[[], Sequence[SentLetter]]
    samples: Sequence[DemoSample] = ()
    security_check: str = ""
    net_entreprises: Sequence[tuple[str, str, str, str]] = ()


def linked(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into ``(piece, is_link)``: every http(s) address a link of its own,
    without the punctuation that ends its sentence."""
    pieces: list[tuple[str, bool]] = []
    last = 0
    for found in _LINK.finditer(text):
        address = found.group(0).rstrip(_TRAILING)
        start, end = found.start(), found.start() + len(address)
        if start > last:
            pieces.append((text[last:start], False))
        pieces.append((address, True))
        last = end
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


def _days(text: str) -> int | None:
    """ASCII digits only (E1), between 1 and :data:`MAX_DAYS`."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_DAYS else None


def _number(request: Request, count: int) -> int:
    """The ``n`` of ``/demo/courriels/n``, from 1 to ``count``; else not found."""
    text = str(request.path_params["number"])
    if text.isascii() and text.isdigit() and 1 <= int(text) <= count:
        return int(text)
    raise HTTPException(404)


class Demo:
    def __init__(self, pages: Pages, controls: DemoControls) -> None:
        self.pages, self.controls = pages, controls
        self.platform = pages.platform

    def _page(
        self,
        request: Request,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response:
        advanced = _days(request.query_params.get("avance", ""))
        return self.pages.render(
            request,
            "peps/demo/index.html",
            {
                "now": self.controls.now(),
                "emails": list(enumerate(self.controls.emails(), start=1)),
                "letters": list(enumerate(self.controls.letters(), start=1)),
                "controls": self.controls,
                "advanced": advanced,
                "dispatched": request.query_params.get("envois") == "1",
                "values": values or {"jours": "8"},
                "errors": errors or {},
            },
            status_code=status_code,
        )

    async def index(self, request: Request) -> Response:
        return self._page(request)

    async def advance(self, request: Request) -> Response:
        form = await read_form(request)
        days = _days(form.get("jours", ""))
        if days is None:
            return self._page(
                request,
                values=form,
                errors={"jours": f"Saisissez un nombre entier de jours, de 1 à {MAX_DAYS}."},
                status_code=422,
            )
        await run_in_threadpool(self._run, timedelta(days=days))
        return RedirectResponse(f"{url(request, 'demo')}?avance={days}", status_code=303)

    async def dispatch(self, request: Request) -> Response:
        await read_form(request)
        await run_in_threadpool(self._run, None)
        return RedirectResponse(f"{url(request, 'demo')}?envois=1", status_code=303)

    def _run(self, delta: timedelta | None) -> None:
        """Moves the clock, then what a worker would do at that time: the sweep (day J,
        lapses, expiries) and the dispatch of what is owed."""
        if delta is not None:
            self.controls.advance(delta)
        self.platform.sweep()
        self.platform.dispatch_notifications()

    async def email(self, request: Request) -> Response:
        emails = self.controls.emails()
        number = _number(request, len(emails))
        sent = emails[number - 1]
        return self.pages.render(
            request,
            "peps/demo/email.html",
            {
                "number": number,
                "sent": sent,
                "pieces": linked(sent.message.text),
                "has_html": sent.message.html is not None,
            },
        )

    async def letter(self, request: Request) -> Response:
        letters = self.controls.letters()
        number = _number(request, len(letters))
        sent = letters[number - 1]
        return self.pages.render(
            request,
            "peps/demo/letter.html",
            {"number": number, "sent": sent, "pieces": linked(sent.letter.text)},
        )


def demo_routes(pages: Pages, controls: DemoControls | None) -> list[Route]:
    """The routes under ``/demo``; ``WebSettings.demo`` without controls is refused."""
    if controls is None:
        raise ConfigError(
            "WebSettings.demo : passez les commandes de la démonstration "
            "(create_app(..., demo=DemoControls(...)), comme peps-onboarding serve --demo)"
        )
    demo = Demo(pages, controls)
    return [
        Route("/demo", demo.index, name="demo"),
        Route("/demo/horloge", demo.advance, methods=["POST"], name="demo_clock"),
        Route("/demo/envois", demo.dispatch, methods=["POST"], name="demo_dispatch"),
        Route("/demo/courriels/{number}", demo.email, name="demo_email"),
        Route("/demo/courriers/{number}", demo.letter, name="demo_letter"),
    ]
