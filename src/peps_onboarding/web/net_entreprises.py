"""« Se connecter avec Net-Entreprises » and the completion forms (W1, N1–N6). The
session carries the platform's signed ticket between the two, never the password."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..application.commands import (
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
    NetEntreprisesForm,
)
from ..application.results import NetEntreprisesLoggedIn
from ..domain.errors import (
    NetEntreprisesAccountError,
    NetEntreprisesTicketInvalidError,
    NetEntreprisesTicketUsedError,
    OnboardingError,
    ValidationError,
)
from .applicant import address_form
from .pages import Pages, redirect
from .security import client_address, read_form, sign_in

__all__ = ["NetEntreprises"]

TICKET = "net_entreprises"
NET_ENTREPRISES_HELP = (
    "Besoin d'aide ? Contactez l'assistance Net-Entreprises au 0 820 000 516 ou via leur "
    "site internet."
)


class NetEntreprises:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.platform = pages.platform

    async def sign_in(self, request: Request) -> Response:
        return self.pages.render(request, "peps/net_entreprises/sign_in.html")

    async def submit_sign_in(self, request: Request) -> Response:
        form = await read_form(request)
        credentials = NetEntreprisesCredentials(
            siret=form.get("siret", ""),
            last_name=form.get("nom", ""),
            first_name=form.get("prenom", ""),
            password=form.get("mot_de_passe", ""),
        )
        values = {key: form.get(key, "") for key in ("siret", "nom", "prenom")}
        try:
            result = await run_in_threadpool(
                self.platform.sign_in_with_net_entreprises,
                credentials,
                client=client_address(request, self.pages.settings),
            )
        except ValidationError as error:
            return self.pages.render(
                request,
                "peps/net_entreprises/sign_in.html",
                {"errors": error.messages, "values": values},
                status_code=422,
            )
        except OnboardingError as error:
            return self.pages.render(
                request,
                "peps/net_entreprises/sign_in.html",
                {
                    "summary": error.text,
                    "help": isinstance(error, NetEntreprisesAccountError)
                    and NET_ENTREPRISES_HELP not in error.text,
                    "values": values,
                },
                status_code=422,
            )
        if isinstance(result, NetEntreprisesLoggedIn):
            sign_in(request, result.identifier, result.profile)
            return redirect(request, "space")
        signed = result
        request.session[TICKET] = {
            "ticket": signed.ticket,
            "siret": signed.siret,
            "designation": signed.designation,
            "profile": signed.profile,
        }
        return redirect(request, "net_entreprises_completion")

    def _ticket(self, request: Request) -> dict[str, str] | None:
        data = request.session.get(TICKET)
        if isinstance(data, dict) and isinstance(data.get("ticket"), str):
            return data
        return None

    async def completion(self, request: Request) -> Response:
        ticket = self._ticket(request)
        if ticket is None:
            return redirect(request, "net_entreprises_sign_in")
        return self._completion_page(request, ticket, {})

    def _completion_page(
        self,
        request: Request,
        ticket: dict[str, str],
        values: dict[str, str],
        *,
        errors: dict[str, str] | None = None,
        summary: str | None = None,
        status_code: int = 200,
    ) -> Response:
        return self.pages.render(
            request,
            "peps/net_entreprises/completion.html",
            {
                "ticket": ticket,
                "administrator": ticket.get("profile") == "administrator",
                "values": values,
                "errors": errors or {},
                "summary": summary,
            },
            status_code=status_code,
        )

    async def submit_completion(self, request: Request) -> Response:
        form = await read_form(request)
        ticket = self._ticket(request)
        if ticket is None:
            return redirect(request, "net_entreprises_sign_in")
        command = NetEntreprisesCompletion(
            ticket=ticket["ticket"],
            form=NetEntreprisesForm(
                civility=form.get("civilite", ""),
                email=form.get("courriel", ""),
                email_confirmation=form.get("confirmation_courriel", ""),
                phone=form.get("telephone", ""),
                service_function=form.get("service_fonction", ""),
                address=address_form(form),
                terms_accepted=form.get("cgu") == "oui",
            ),
        )
        try:
            result = await run_in_threadpool(self.platform.complete_net_entreprises, command)
        except ValidationError as error:
            return self._completion_page(
                request, ticket, form, errors=error.messages, status_code=422
            )
        except (NetEntreprisesTicketInvalidError, NetEntreprisesTicketUsedError) as error:
            request.session.pop(TICKET, None)
            return self.pages.render(
                request,
                "peps/net_entreprises/sign_in.html",
                {"summary": error.text},
                status_code=409,
            )
        except OnboardingError as error:
            return self._completion_page(request, ticket, form, summary=error.text, status_code=422)
        sign_in(request, result.identifier, result.profile)
        return self.pages.render(request, "peps/net_entreprises/joined.html", {"result": result})
