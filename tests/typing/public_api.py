"""Type-checked by mypy, never run: pins the public API's types (a change breaks ``make test``).

``assert_type`` fails the type check when a signature drifts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import assert_type

import peps_onboarding as peps
from peps_onboarding.ports import Mailer, UnitOfWork


def wiring(db: peps.InMemoryDatabase, directory: peps.InMemoryDirectory) -> peps.Platform:
    uow: UnitOfWork = db.unit_of_work()
    mailer: Mailer = peps.InMemoryMailer()
    assert_type(uow, UnitOfWork)
    return peps.build(
        unit_of_work=db.unit_of_work,
        registry=directory,
        contracts=directory,
        net_entreprises=peps.InMemoryNetEntreprisesVerifier(),
        captcha=peps.InMemoryCaptchaVerifier(),
        mailer=mailer,
        letters=peps.InMemoryLetterSender(),
        secret=b"x" * 32,
    )


def use_cases(platform: peps.Platform, form: peps.HolderForm) -> None:
    step1 = platform.identify_establishment(
        peps.EstablishmentIdentification(siret="", contract_number="", captcha_response="")
    )
    assert_type(step1, peps.IdentificationResult)
    submitted = platform.register(
        peps.ClassicRegistration(proof=step1.proof, holder=form, terms_accepted=True)
    )
    assert_type(submitted.identifier, str)
    assert_type(submitted.access_from, date)
    created = platform.create_password("token", "p", "p")
    assert_type(created, peps.PasswordCreated)
    login = platform.login("JDU000001", "p")
    assert_type(login.expires_at, datetime)
    assert_type(platform.sweep(), peps.SweepReport)
    assert_type(platform.dispatch_notifications(), peps.DispatchReport)
    assert_type(platform.history("21330063500017"), tuple[peps.DomainEvent, ...])
    assert_type(platform.list_members("JDU000001").members, tuple[peps.MemberRow, ...])
    members = platform.establishment_members("JLU000002")  # R8: any active member
    assert_type(members, peps.EstablishmentMembers)
    assert_type(members.members, tuple[peps.MemberRow, ...])
    assert_type(members.administrators, tuple[peps.AdministratorContact, ...])
    assert_type(members.administrators[0].phone, str)
    assert_type(members.viewer_is_administrator, bool)
    assert_type(members.message, str)
    assert_type(members.warning, str | None)


def anonymous_entry_points(platform: peps.Platform, proof: str) -> None:
    # every anonymous entry point takes the caller's address, by keyword only (P1)
    assert_type(platform.administrators(proof), tuple[str, ...])
    resent = platform.resend_creation_link(proof, client="192.0.2.7")
    assert_type(resent, peps.CreationLinkResent)
    assert_type(
        platform.request_password_reset("JDU000001", client="2001:db8::1"),
        peps.PasswordResetRequested,
    )
    assert_type(platform.login("JDU000001", "p", client=None), peps.LoginSucceededResult)
    limits = peps.Policy().rate_limits
    assert_type(limits, peps.RateLimits)
    assert_type(limits.login_failures_per_source, peps.RateLimit)
    assert_type(platform.assist_renew("Support", "JDU000001", reason="appel"), None)


def screen_texts(platform: peps.Platform, proof: str, token: str) -> None:
    # every result a screen shows carries its French message; a code comes with its label
    login = platform.login("JDU000001", "p")
    assert_type(login.profile, str)  # a ``Profile`` value, for code
    assert_type(login.profile_label, str)  # « Administrateur »
    assert_type(platform.resend_creation_link(proof).message, str)
    assert_type(platform.create_password(token, "p", "p").message, str)
    assert_type(platform.reset_password(token, "p", "p").message, str)
    assert_type(platform.withdraw_registration(token).message, str)
    assert_type(platform.withdraw_registration(token).by_legal_representative, bool)
    check = platform.check_password("p", "q")
    assert_type(check.password_message, str)
    assert_type(check.confirmation_message, str | None)


def errors(error: peps.OnboardingError, invalid: peps.ValidationError) -> None:
    assert_type(error.code, str)
    assert_type(error.text, str)
    assert_type(invalid.messages, dict[str, str])
    refused: peps.NetEntreprisesAccountError = peps.NetEntreprisesRefusedError()
    assert_type(refused.assistance, str)  # N1: the seed's help line, on its own
    assert_type(peps.NET_ENTREPRISES_ASSISTANCE, str)
    unknown: peps.UnknownEstablishmentError = peps.UnknownSiretError()  # N2: one family
    assert_type(unknown.code, str)


def throttled(refused: peps.TooManyAttemptsError, down: peps.ThrottleUnavailableError) -> None:
    assert_type(refused.retry_after, timedelta)
    assert_type(refused.minutes, int)
    unavailable: peps.ServiceUnavailableError = down  # caught with the other outages
    assert_type(unavailable.code, str)
