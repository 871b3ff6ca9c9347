"""The signed-in side and the ways back in (W1): « Se connecter », « Identifiant
oublié ? », « Mot de passe oublié ? » and its link, « Mon établissement > Mes
intervenants », the session's extension and « Se déconnecter »."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..application.commands import IdentifierRecovery
from ..domain.errors import LinkNoLongerValidError, OnboardingError, ValidationError
from .pages import Pages, redirect, signed_in
from .security import client_address, read_form, rotate_session, sign_in, touch

__all__ = ["Account"]


class Account:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.platform = pages.platform

    # --- « Se connecter » (A4) ---------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if signed_in(request):
            return redirect(request, "space")
        # Said once, on the login page the expired session led to.
        expired = bool(request.session.pop("expiree", False))
        return self.pages.render(request, "peps/account/login.html", {"expired": expired})

    async def submit_login(self, request: Request) -> Response:
        form = await read_form(request)
        identifier = form.get("identifiant", "")
        try:
            result = await self.pages.hashing(
                self.platform.login,
                identifier,
                form.get("mot_de_passe", ""),
                client=client_address(request, self.pages.settings),
            )
        except OnboardingError as error:
            return self.pages.render(
                request,
                "peps/account/login.html",
                {"summary": error.text, "values": {"identifiant": identifier}},
                status_code=422,
            )
        sign_in(request, result.identifier, result.profile)
        return redirect(request, "space")

    async def logout(self, request: Request) -> Response:
        await read_form(request)
        rotate_session(request)
        return self.pages.render(request, "peps/account/logged_out.html")

    async def extend(self, request: Request) -> Response:
        """« Prolonger ma session »: another idle period from now (RGAA 2.2)."""
        await read_form(request)
        if signed_in(request):
            touch(request)
        return redirect(request, "space")

    # --- the signed-in pages ----------------------------------------------------------

    async def space(self, request: Request) -> Response:
        """« Mon espace »."""
        return await self._members_page(request, "peps/account/space.html")

    async def establishment_members(self, request: Request) -> Response:
        """« Mon établissement > Mes intervenants » (R8)."""
        return await self._members_page(request, "peps/account/members.html")

    async def _members_page(self, request: Request, page: str) -> Response:
        """A signed-in page built on « Mes intervenants »: an account that can no longer
        read it (blocked, expired, infirmé) is signed out and told why."""
        actor = signed_in(request)
        if actor is None:
            return redirect(request, "login")
        try:
            members = await run_in_threadpool(self.platform.establishment_members, actor)
        except OnboardingError as error:
            rotate_session(request)
            return self.pages.render(
                request, "peps/account/login.html", {"summary": error.text}, status_code=403
            )
        return self.pages.render(request, page, {"members": members})

    # --- « Identifiant oublié ? » (A6) -------------------------------------------------

    async def forgotten_identifier(self, request: Request) -> Response:
        return self.pages.render(request, "peps/account/forgotten_identifier.html")

    async def submit_forgotten_identifier(self, request: Request) -> Response:
        form = await read_form(request)
        command = IdentifierRecovery(
            siret=form.get("siret", ""),
            last_name=form.get("nom", ""),
            first_name=form.get("prenom", ""),
            email=form.get("courriel", ""),
        )
        try:
            result = await run_in_threadpool(
                self.platform.recover_identifier,
                command,
                client=client_address(request, self.pages.settings),
            )
        except ValidationError as error:
            return self.pages.render(
                request,
                "peps/account/forgotten_identifier.html",
                {"errors": error.messages, "values": form},
                status_code=422,
            )
        except OnboardingError as error:
            return self.pages.render(
                request,
                "peps/account/forgotten_identifier.html",
                {"summary": error.text, "values": form},
                status_code=422,
            )
        return self.pages.render(
            request, "peps/account/identifier_recovered.html", {"result": result}
        )

    # --- « Mot de passe oublié ? » (A5) ------------------------------------------------

    async def forgotten_password(self, request: Request) -> Response:
        return self.pages.render(request, "peps/account/forgotten_password.html")

    async def submit_forgotten_password(self, request: Request) -> Response:
        form = await read_form(request)
        identifier = form.get("identifiant", "")
        try:
            result = await run_in_threadpool(
                self.platform.request_password_reset,
                identifier,
                client=client_address(request, self.pages.settings),
            )
        except OnboardingError as error:
            return self.pages.render(
                request,
                "peps/account/forgotten_password.html",
                {"summary": error.text, "values": {"identifiant": identifier}},
                status_code=422,
            )
        return self.pages.render(request, "peps/account/reset_requested.html", {"result": result})

    async def reset(self, request: Request) -> Response:
        """W2: the e-mailed link opens a form; only the form changes the password."""
        token = request.query_params.get("jeton", "")
        try:
            await run_in_threadpool(self.platform.check_password_reset_link, token)
        except LinkNoLongerValidError as error:
            return self.pages.render(
                request, "peps/password/reset.html", {"dead": error, "token": ""}, status_code=410
            )
        return self.pages.render(request, "peps/password/reset.html", {"token": token})

    async def submit_reset(self, request: Request) -> Response:
        form = await read_form(request)
        token = form.get("jeton", "")
        try:
            result = await self.pages.hashing(
                self.platform.reset_password,
                token,
                form.get("mot_de_passe", ""),
                form.get("confirmation_mot_de_passe", ""),
            )
        except LinkNoLongerValidError as error:
            return self.pages.render(
                request, "peps/password/reset.html", {"dead": error, "token": ""}, status_code=410
            )
        except ValidationError as error:
            return self.pages.render(
                request,
                "peps/password/reset.html",
                {"token": token, "errors": error.messages},
                status_code=422,
            )
        return self.pages.render(request, "peps/password/reset_done.html", {"result": result})
