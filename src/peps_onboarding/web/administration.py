"""« Gestion des comptes » (W1, R1–R7, E5): the administrators' screens. Every action is
a form; the platform decides whether the signed-in actor may take it, so a screen only
chooses which buttons to offer."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..application.results import MemberRow, MembersList
from ..domain.errors import OnboardingError, PermissionDeniedError, ValidationError
from ..domain.rights import AccessLevel
from .applicant import holder_form
from .pages import Pages, redirect, signed_in
from .security import read_form

__all__ = ["Administration"]

#: The member actions, by the path's last segment: what the platform is asked, and the
#: sentence the page says once it is done.
ACTIONS: dict[str, tuple[str, str]] = {
    "infirmer": ("invalidate", "Le compte est infirmé."),
    "renouveler": ("renew", "Le compte est renouvelé."),
    "debloquer": ("unblock", "Le compte est débloqué."),
    "promouvoir": ("promote", "Le compte a désormais le profil Administrateur."),
    "retrograder": ("demote", "Le compte a désormais le profil Utilisateur."),
}
LEVELS = {level.value: level for level in AccessLevel}


class Administration:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.platform = pages.platform

    async def _members(self, request: Request) -> tuple[str, MembersList] | Response:
        actor = signed_in(request)
        if actor is None:
            return redirect(request, "login")
        try:
            listed = await run_in_threadpool(self.platform.list_members, actor)
        except OnboardingError as error:
            if isinstance(error, PermissionDeniedError):
                request.session["admin"] = False  # no longer offer « Gestion des comptes »
            return self.pages.render(
                request,
                "peps/administration/refused.html",
                {"summary": error.text},
                status_code=403,
            )
        request.session["admin"] = True
        return actor, listed

    async def members(self, request: Request) -> Response:
        found = await self._members(request)
        if isinstance(found, Response):
            return found
        return self.pages.render(request, "peps/administration/members.html", {"listed": found[1]})

    # --- « Créer un compte » (R5) ------------------------------------------------------

    async def new_user(self, request: Request) -> Response:
        found = await self._members(request)
        if isinstance(found, Response):
            return found
        return self.pages.render(request, "peps/administration/create.html", {"listed": found[1]})

    async def create_user(self, request: Request) -> Response:
        form = await read_form(request)
        found = await self._members(request)
        if isinstance(found, Response):
            return found
        actor, listed = found
        try:
            created = await run_in_threadpool(self.platform.create_user, actor, holder_form(form))
        except ValidationError as error:
            return self.pages.render(
                request,
                "peps/administration/create.html",
                {"listed": listed, "values": form, "errors": error.messages},
                status_code=422,
            )
        except OnboardingError as error:
            return self.pages.render(
                request,
                "peps/administration/create.html",
                {"listed": listed, "values": form, "summary": error.text},
                status_code=422,
            )
        return self.pages.render(request, "peps/administration/created.html", {"result": created})

    # --- one member --------------------------------------------------------------------

    def _member_page(
        self,
        request: Request,
        listed: MembersList,
        member: MemberRow,
        *,
        summary: str | None = None,
        done: str | None = None,
        status_code: int = 200,
    ) -> Response:
        return self.pages.render(
            request,
            "peps/administration/member.html",
            {
                "listed": listed,
                "member": member,
                "summary": summary,
                "done": done,
                "levels": [(level.value, level.label) for level in AccessLevel],
                "myself": member.identifier == signed_in(request),
            },
            status_code=status_code,
        )

    async def member(self, request: Request) -> Response:
        found = await self._members(request)
        if isinstance(found, Response):
            return found
        member = _member(found[1], request.path_params["identifier"])
        if member is None:
            return self.pages.render(request, "peps/errors/not_found.html", status_code=404)
        return self._member_page(request, found[1], member)

    async def set_rights(self, request: Request) -> Response:
        """Rule R3: one level per service; only the changed ones are asked for."""
        form = await read_form(request)
        return await self._act(
            request,
            lambda actor, member: self._change_rights(actor, member, form),
            "Les droits sont enregistrés.",
        )

    def _change_rights(self, actor: str, member: MemberRow, form: dict[str, str]) -> None:
        for right in member.rights:
            wanted = LEVELS.get(form.get(f"droit_{right.service}", right.level))
            if wanted is None:
                raise ValidationError({})
            if wanted.value != right.level:
                self.platform.set_right(actor, member.identifier, right.service, wanted)

    async def act(self, request: Request) -> Response:
        form = await read_form(request)
        action = request.path_params["action"]
        if action not in ACTIONS:
            return self.pages.render(request, "peps/errors/not_found.html", status_code=404)
        name, sentence = ACTIONS[action]
        if action == "infirmer" and form.get("confirmer") != "oui":
            found = await self._members(request)
            if isinstance(found, Response):
                return found
            member = _member(found[1], request.path_params["identifier"])
            if member is None:
                return self.pages.render(request, "peps/errors/not_found.html", status_code=404)
            return self.pages.render(
                request, "peps/administration/confirm_invalidate.html", {"member": member}
            )
        method: Callable[[str, str], None] = getattr(self.platform, name)
        return await self._act(
            request, lambda actor, member: method(actor, member.identifier), sentence
        )

    async def _act(
        self,
        request: Request,
        change: Callable[[str, MemberRow], None],
        sentence: str,
    ) -> Response:
        found = await self._members(request)
        if isinstance(found, Response):
            return found
        actor, listed = found
        member = _member(listed, request.path_params["identifier"])
        if member is None:
            return self.pages.render(request, "peps/errors/not_found.html", status_code=404)
        try:
            await run_in_threadpool(change, actor, member)
        except ValidationError:
            return self._member_page(
                request, listed, member, summary="Niveau d'accès inconnu.", status_code=422
            )
        except OnboardingError as error:
            return self._member_page(request, listed, member, summary=error.text, status_code=422)
        refreshed = await self._members(request)
        if isinstance(refreshed, Response):
            return refreshed  # the actor demoted themself: they administer nothing now
        member = _member(refreshed[1], member.identifier) or member
        return self._member_page(request, refreshed[1], member, done=sentence)


def _member(listed: MembersList, identifier: str) -> MemberRow | None:
    return next((row for row in listed.members if row.identifier == identifier), None)
