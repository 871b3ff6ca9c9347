"""The applicant's screens (W1): the home page, « Inscrire un établissement » steps 1 to
3, « Créer votre mot de passe » and the withdrawal. Each route parses the form into a
command, calls the platform off the event loop, and renders what it answered."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..application.commands import (
    AddressForm,
    ClassicRegistration,
    EstablishmentIdentification,
    HolderForm,
)
from ..application.results import (
    EstablishmentAlreadyEnrolled,
    RegistrationPending,
)
from ..domain.errors import (
    LinkNoLongerValidError,
    OnboardingError,
    StepOneRequiredError,
    TooManyAttemptsError,
    ValidationError,
)
from .pages import Pages, redirect
from .security import client_address, read_form

__all__ = ["Applicant"]

#: Step 2's fields, by their names in the platform's field errors.
HOLDER_FIELDS = (
    "civilite",
    "nom",
    "prenom",
    "courriel",
    "confirmation_courriel",
    "telephone",
    "service_fonction",
    "complement_adresse",
    "complement_identification",
    "voie",
    "lieu_dit",
    "code_postal",
    "ville",
)
#: What the browser posts for the security check: the clicked image, or the word heard.
CHECK_CHOICE, CHECK_SOUND, CHECK_ID = "controle_securite", "controle_securite_son", "defi"
STEP_ONE = "inscription"


def holder_form(form: dict[str, str]) -> HolderForm:
    """The seed's step-2 fields as the platform's form, every value a string as typed."""
    return HolderForm(
        civility=form.get("civilite", ""),
        last_name=form.get("nom", ""),
        first_name=form.get("prenom", ""),
        email=form.get("courriel", ""),
        email_confirmation=form.get("confirmation_courriel", ""),
        phone=form.get("telephone", ""),
        service_function=form.get("service_fonction", ""),
        address=address_form(form),
    )


def address_form(form: dict[str, str]) -> AddressForm:
    return AddressForm(
        street=form.get("voie", ""),
        postal_code=form.get("code_postal", ""),
        city=form.get("ville", ""),
        address_complement=form.get("complement_adresse", ""),
        identification_complement=form.get("complement_identification", ""),
        locality=form.get("lieu_dit", ""),
    )


class Applicant:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.platform = pages.platform

    # --- home -------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return self.pages.render(request, "peps/home.html")

    # --- step 1 -----------------------------------------------------------------------

    async def step_one(self, request: Request) -> Response:
        return await self._step_one_page(request, {})

    async def _step_one_page(
        self,
        request: Request,
        values: dict[str, str],
        *,
        errors: dict[str, str] | None = None,
        summary: str | None = None,
        status_code: int = 200,
    ) -> Response:
        try:
            challenge = await run_in_threadpool(
                self.platform.security_check, client=client_address(request, self.pages.settings)
            )
        except TooManyAttemptsError as error:
            # No challenge to answer: the page says when to come back, and offers no form.
            challenge, summary, status_code = None, error.text, 429
        # Step 2's typed values ride along as hidden fields when « Précédent » brought the
        # person back, so nothing personal is kept in the session.
        draft = {name: values[name] for name in HOLDER_FIELDS if values.get(name)}
        return self.pages.render(
            request,
            "peps/registration/step1.html",
            {
                "values": values,
                "errors": errors or {},
                "summary": summary,
                "challenge": challenge,
                "draft": draft,
                "terms": values.get("cgu") == "oui",
            },
            status_code=status_code,
        )

    async def submit_step_one(self, request: Request) -> Response:
        form = await read_form(request)
        if form.get("action") == "renouveler":
            return await self._step_one_page(request, form)
        response = form.get(CHECK_SOUND, "").strip() or form.get(CHECK_CHOICE, "")
        command = EstablishmentIdentification(
            siret=form.get("siret", ""),
            contract_number=form.get("numero_contrat", ""),
            captcha_response=response,
            captcha_challenge=form.get(CHECK_ID, ""),
        )
        try:
            result = await run_in_threadpool(
                self.platform.identify_establishment,
                command,
                client=client_address(request, self.pages.settings),
            )
        except ValidationError as error:
            return await self._step_one_page(request, form, errors=error.messages, status_code=422)
        except OnboardingError as error:
            return await self._step_one_page(request, form, summary=error.text, status_code=422)
        request.session[STEP_ONE] = {
            "proof": result.proof,
            "siret": result.siret,
            "designation": result.designation,
            "contrat": form.get("numero_contrat", "").strip(),
        }
        context: dict[str, Any] = {"result": result, "step": 1}
        if isinstance(result, EstablishmentAlreadyEnrolled):
            return self.pages.render(request, "peps/registration/already_enrolled.html", context)
        if isinstance(result, RegistrationPending):
            return self.pages.render(request, "peps/registration/pending.html", context)
        draft = {name: form[name] for name in HOLDER_FIELDS if form.get(name)}
        return self._step_two_page(request, {**draft, "cgu": form.get("cgu", "")})

    def _step_one_session(self, request: Request) -> dict[str, str] | None:
        data = request.session.get(STEP_ONE)
        if isinstance(data, dict) and all(isinstance(data.get(k), str) for k in ("proof", "siret")):
            return data
        return None

    # --- after step 1 -----------------------------------------------------------------

    async def all_administrators(self, request: Request) -> Response:
        """« Voir tous les administrateurs » (R7): a read, on the proof of step 1."""
        step = self._step_one_session(request)
        if step is None:
            return await self._expired(request)
        try:
            names = await run_in_threadpool(self.platform.administrators, step["proof"])
        except OnboardingError as error:
            return await self._expired(request, error.text)
        return self.pages.render(
            request,
            "peps/registration/administrators.html",
            {"names": names, "step_data": step},
        )

    async def resend(self, request: Request) -> Response:
        """« Vous en envoyer un nouveau » (C3)."""
        await read_form(request)
        step = self._step_one_session(request)
        if step is None:
            return await self._expired(request)
        try:
            result = await run_in_threadpool(
                self.platform.resend_creation_link,
                step["proof"],
                client=client_address(request, self.pages.settings),
            )
        except StepOneRequiredError as error:
            return await self._expired(request, error.text)
        except OnboardingError as error:
            return self.pages.render(
                request,
                "peps/registration/pending.html",
                {"result": step, "summary": error.text, "step": 1},
                status_code=422,
            )
        return self.pages.render(request, "peps/registration/resent.html", {"result": result})

    async def _expired(self, request: Request, text: str | None = None) -> Response:
        request.session.pop(STEP_ONE, None)
        return await self._step_one_page(
            request, {}, summary=text or StepOneRequiredError.message, status_code=409
        )

    # --- step 2 -----------------------------------------------------------------------

    async def step_two(self, request: Request) -> Response:
        if self._step_one_session(request) is None:
            return redirect(request, "step_one")
        return self._step_two_page(request, {})

    def _step_two_page(
        self,
        request: Request,
        values: dict[str, str],
        *,
        errors: dict[str, str] | None = None,
        summary: str | None = None,
        status_code: int = 200,
    ) -> Response:
        return self.pages.render(
            request,
            "peps/registration/step2.html",
            {
                "values": values,
                "errors": errors or {},
                "summary": summary,
                "step_data": self._step_one_session(request),
            },
            status_code=status_code,
        )

    async def submit_step_two(self, request: Request) -> Response:
        form = await read_form(request)
        step = self._step_one_session(request)
        if step is None:
            return await self._expired(request)
        if form.get("action") == "precedent":
            values = {**form, "siret": step["siret"], "numero_contrat": step.get("contrat", "")}
            return await self._step_one_page(request, values)
        command = ClassicRegistration(
            proof=step["proof"], holder=holder_form(form), terms_accepted=form.get("cgu") == "oui"
        )
        try:
            result = await run_in_threadpool(self.platform.register, command)
        except ValidationError as error:
            return self._step_two_page(request, form, errors=error.messages, status_code=422)
        except StepOneRequiredError as error:
            return await self._expired(request, error.text)
        except OnboardingError as error:
            return self._step_two_page(request, form, summary=error.text, status_code=422)
        request.session.pop(STEP_ONE, None)
        request.session["inscrit"] = {
            "identifier": result.identifier,
            "spelled": result.identifier_spelled,
            "access_from": result.access_from.isoformat(),
            "designation": result.designation,
            "siret": result.siret,
        }
        return redirect(request, "step_three")

    # --- step 3 -----------------------------------------------------------------------

    async def step_three(self, request: Request) -> Response:
        done = request.session.get("inscrit")
        if not isinstance(done, dict):
            return redirect(request, "step_one")
        try:
            access_from = date.fromisoformat(str(done.get("access_from")))
        except ValueError:
            return redirect(request, "step_one")
        return self.pages.render(
            request, "peps/registration/step3.html", {"done": done, "access_from": access_from}
        )

    # --- « Créer votre mot de passe » --------------------------------------------------

    async def password_creation(self, request: Request) -> Response:
        """W2: opening the e-mailed link reads only; the form spends it."""
        token = request.query_params.get("jeton", "")
        try:
            await run_in_threadpool(self.platform.check_password_creation_link, token)
        except LinkNoLongerValidError as error:
            return self._dead_link(request, error, "peps/password/create.html")
        return self.pages.render(request, "peps/password/create.html", {"token": token})

    async def submit_password_creation(self, request: Request) -> Response:
        form = await read_form(request)
        token = form.get("jeton", "")
        try:
            result = await self.pages.hashing(
                self.platform.create_password,
                token,
                form.get("mot_de_passe", ""),
                form.get("confirmation_mot_de_passe", ""),
            )
        except LinkNoLongerValidError as error:
            return self._dead_link(request, error, "peps/password/create.html")
        except ValidationError as error:
            return self.pages.render(
                request,
                "peps/password/create.html",
                {"token": token, "errors": error.messages},
                status_code=422,
            )
        return self.pages.render(request, "peps/password/created.html", {"result": result})

    def _dead_link(self, request: Request, error: LinkNoLongerValidError, page: str) -> Response:
        return self.pages.render(
            request,
            page,
            {"dead": error, "token": "", "administrators": error.administrators},
            status_code=410,
        )

    # --- withdrawal (C9) --------------------------------------------------------------

    async def withdrawal(self, request: Request) -> Response:
        """The letter's code typed in, or the applicant's link: a page, never a change."""
        token = request.query_params.get("jeton", "")
        return self.pages.render(request, "peps/withdrawal/form.html", {"token": token})

    async def submit_withdrawal(self, request: Request) -> Response:
        form = await read_form(request)
        token = form.get("jeton", "")
        code = token or form.get("code", "")
        try:
            result = await run_in_threadpool(
                self.platform.withdraw_registration,
                code,
                client=client_address(request, self.pages.settings),
            )
        except OnboardingError as error:
            return self.pages.render(
                request,
                "peps/withdrawal/form.html",
                {"token": token, "summary": error.text, "values": {"code": form.get("code", "")}},
                status_code=422,
            )
        return self.pages.render(request, "peps/withdrawal/done.html", {"result": result})

    # --- the security check's images and sound (C1, W4) ------------------------------

    async def security_check_media(self, request: Request) -> Response:
        media = await run_in_threadpool(
            self.platform.security_check_media,
            request.path_params["challenge"],
            request.path_params["part"],
        )
        if media is None:
            return Response(status_code=404)
        return Response(media.content, media_type=media.media_type)
