"""Type-checked by mypy, never run: pins the public API's types (a change breaks ``make test``).

``assert_type`` fails the type check when a signature drifts.
"""

from __future__ import annotations

from datetime import date, datetime
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


def errors(error: peps.OnboardingError, invalid: peps.ValidationError) -> None:
    assert_type(error.code, str)
    assert_type(error.text, str)
    assert_type(invalid.messages, dict[str, str])
