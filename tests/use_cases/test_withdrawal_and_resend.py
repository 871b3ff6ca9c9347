"""Deadlines that cannot be stretched (C3, C9) and the letter's short withdrawal code
(P4, P1), driven through the platform as a host would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from attrs import evolve, fields

from peps_onboarding.domain.account import AccountState
from peps_onboarding.domain.errors import (
    LinkNoLongerValidError,
    OnboardingError,
    TooManyAttemptsError,
)
from peps_onboarding.domain.establishment import EnrolmentState
from peps_onboarding.domain.links import LinkPurpose, LinkStatus
from peps_onboarding.domain.policy import Policy
from peps_onboarding.domain.throttling import RateLimit, RateLimits
from peps_onboarding.domain.values import Identifier, Siret
from peps_onboarding.testing import journeys
from peps_onboarding.testing.journeys import COMMUNE, COMMUNE_CONTRACT, PASSWORD, Journey

APPLICANT = "jeanne.dupont@employeur.example"


def unlimited() -> Policy:
    """The spec's policy with the rate limits (P1) out of reach: they count wall-clock
    seconds, and these tests send several requests within one."""
    lifted = RateLimit(1_000_000_000, timedelta(seconds=1))
    return evolve(Policy(), rate_limits=RateLimits(**{a.name: lifted for a in fields(RateLimits)}))


def resend(journey: Journey) -> bool:
    """« Vous en envoyer un nouveau » for the commune, with a step-1 proof where the
    platform asks for one (C10)."""
    platform = cast(Any, journey.platform)
    proof = getattr(journeys, "step_one_proof", None)
    if proof is not None:
        return bool(
            platform.resend_creation_link(proof(journey.platform, COMMUNE, COMMUNE_CONTRACT)).sent
        )
    return bool(platform.resend_creation_link(COMMUNE, COMMUNE_CONTRACT).sent)


def enrolment_state(journey: Journey) -> EnrolmentState:
    enrolment = journey.world.database.enrolments.get(Siret.parse(COMMUNE))
    return enrolment.state if enrolment else EnrolmentState.NOT_ENROLLED


def applicant_state(journey: Journey) -> AccountState:
    return journey.world.database.accounts[Identifier.parse("JDU000001")].state


def applicant_withdrawal_token(journey: Journey) -> str:
    """The applicant's withdrawal link, from the last creation e-mail."""
    mail = journey.mails_to(APPLICANT)[-1]
    return mail.text.split("utilisez ce lien : ")[1].split()[0].split("jeton=")[1]


# --- C3: a resend never extends the 15 days ------------------------------------------


@pytest.mark.rule("C3", "C6", "T1")
def test_six_resends_over_ninety_days_do_not_keep_a_registration_alive() -> None:
    """C3: the attack that used to work — a resend every 15 days restarted them. Now
    every new link ends when the first would have, and on day 15 the sweep deletes the
    pending account and the establishment is NOT_ENROLLED again, whatever the resends."""
    journey = Journey.start(policy=unlimited())
    submitted_at = journey.clock.now()
    journey.register()
    deadline = submitted_at + journey.platform.policy.creation_link_validity
    assert resend(journey)
    journey.later(days=14, hours=23)
    assert resend(journey)  # the last moment a resend is still possible
    links = journey.world.database.links
    creation = [link for link in links.values() if link.purpose is LinkPurpose.PASSWORD_CREATION]
    assert {link.expires_at for link in creation} == {deadline}
    account = journey.world.database.accounts[Identifier.parse("JDU000001")]
    assert account.activation_deadline == deadline  # what the sweep reads
    token = journey.last_token(APPLICANT)
    journey.later(hours=1)  # day 15
    assert journey.platform.sweep().registrations_lapsed == 1
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED
    assert applicant_state(journey) is AccountState.DELETED
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.create_password(token, PASSWORD, PASSWORD)
    for _ in range(4):  # and the rest of the 90 days: nothing left to resend
        journey.later(days=15)
        with pytest.raises(OnboardingError):
            resend(journey)
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED


@pytest.mark.rule("C3", "C6", "T1")
def test_a_resent_link_is_refused_on_day_15_even_before_the_sweep() -> None:
    """C3, T1: the link resent on day 10 is void on day 15 when used, and using it lapses
    the registration then and there (the sweep later finds nothing)."""
    journey = Journey.start(policy=unlimited())
    journey.register()
    journey.later(days=10)
    assert resend(journey)
    token = journey.last_token(APPLICANT)
    journey.later(days=5)
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.create_password(token, PASSWORD, PASSWORD)
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED
    assert journey.platform.sweep().total == 0


@pytest.mark.rule("C3", "C7")
def test_a_resent_link_still_works_within_the_15_days() -> None:
    """C3: the new link replaces the old one and works until the first one's end."""
    journey = Journey.start(policy=unlimited())
    journey.register()
    old = journey.last_token(APPLICANT)
    journey.later(days=12)
    assert resend(journey)
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.create_password(old, PASSWORD, PASSWORD)
    journey.later(days=2, hours=23)
    created = journey.platform.create_password(journey.last_token(APPLICANT), PASSWORD, PASSWORD)
    assert created.access_open  # day J (day 8) is past: access opens at once (C8)
    assert enrolment_state(journey) is EnrolmentState.ENROLLED


# --- C9: withdrawal until access actually opens --------------------------------------


@pytest.mark.rule("C9")
def test_the_representative_withdraws_on_day_10_when_no_password_was_created() -> None:
    """C9: day J passed but access never opened (no password): the letter's code still
    withdraws the registration."""
    journey = Journey.start(policy=unlimited())
    journey.register()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    journey.later(days=10)
    journey.platform.sweep()  # day J found no password: nothing opened
    assert journey.platform.withdraw_registration(code).siret == COMMUNE
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED
    assert applicant_state(journey) is AccountState.DELETED


@pytest.mark.rule("C9")
def test_the_applicant_withdraws_on_day_14_with_the_link_of_a_resent_email() -> None:
    """C9, C3: the withdrawal link of a creation e-mail resent after day J works too."""
    journey = Journey.start(policy=unlimited())
    journey.register()
    journey.later(days=9)
    assert resend(journey)
    token = applicant_withdrawal_token(journey)
    journey.later(days=5)
    journey.platform.withdraw_registration(token)
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED


@pytest.mark.rule("C9", "C8", "T1")
def test_withdrawal_is_refused_once_day_j_came_with_a_password_even_before_the_sweep() -> None:
    """C9: password created on day 2, day J passed, the sweep has not run: access is due,
    so the code is refused, and the opening found on the way is applied (T1)."""
    journey = Journey.start(policy=unlimited())
    journey.register()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    token = applicant_withdrawal_token(journey)
    journey.later(days=2)
    journey.create_password(APPLICANT)
    journey.later(days=6)  # day J
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.withdraw_registration(code)
    assert enrolment_state(journey) is EnrolmentState.ENROLLED
    assert (
        journey.mails_to(APPLICANT)[-1].subject
        != "L'inscription de votre établissement a été annulée"
    )
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.withdraw_registration(token)
    assert journey.platform.sweep().access_opened == 0  # already applied


@pytest.mark.rule("C9")
def test_withdrawal_works_the_day_before_day_j_with_a_password() -> None:
    """C9: with the password created, the window closes on day J, not before."""
    journey = Journey.start(policy=unlimited())
    journey.register()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    journey.create_password(APPLICANT)
    journey.later(days=7)  # day J begins at midnight, Paris time, the next night
    journey.platform.withdraw_registration(code)
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED


@pytest.mark.rule("C9", "C6")
def test_withdrawal_is_refused_once_the_registration_lapsed() -> None:
    """C9, C6: 15 days without a password: nothing is pending, nothing to withdraw; the
    lapse found on the way stands."""
    journey = Journey.start(policy=unlimited())
    journey.register()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    journey.later(days=15)
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.withdraw_registration(code)
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED
    assert applicant_state(journey) is AccountState.DELETED
    assert journey.platform.sweep().total == 0


@pytest.mark.rule("C9", "C6")
def test_withdrawal_links_live_until_the_registration_cannot_be_pending() -> None:
    """C9: both withdrawal links end with the 15 days counted from the submission."""
    journey = Journey.start(policy=unlimited())
    submitted_at = journey.clock.now()
    journey.register()
    end = submitted_at + journey.platform.policy.creation_link_validity
    withdrawal = [
        link
        for link in journey.world.database.links.values()
        if link.purpose
        in (LinkPurpose.WITHDRAWAL_BY_APPLICANT, LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE)
        and link.status is LinkStatus.ISSUED
    ]
    assert len(withdrawal) == 2
    assert {link.expires_at for link in withdrawal} == {end}


# --- P4 and P1: the code a person types ----------------------------------------------


@pytest.mark.rule("P4")
def test_the_code_is_accepted_as_a_person_types_it() -> None:
    """P4: lower case, spaces instead of hyphens, O for 0 and I or L for 1 are forgiven."""
    journey = Journey.start(policy=unlimited())
    journey.register()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    typed = code.lower().replace("-", "  ").replace("0", "o").replace("1", "l")
    assert journey.platform.withdraw_registration(f" {typed} ").siret == COMMUNE


@pytest.mark.rule("P4", "P1")
def test_a_flood_of_guesses_from_one_source_is_refused_and_then_even_the_right_code() -> None:
    """P1, P4: ten wrong codes from one address use up its attempts; the eleventh, the
    right code, is refused with « Trop de tentatives… » and withdraws nothing. Another
    source still can."""
    journey = Journey.start()
    journey.register()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    for guess in range(10):
        with pytest.raises(LinkNoLongerValidError):
            journey.platform.withdraw_registration(f"0000-0000-{guess:04d}", client="203.0.113.9")
    events = len(journey.platform.history(COMMUNE))
    with pytest.raises(TooManyAttemptsError) as refused:
        journey.platform.withdraw_registration(code, client="203.0.113.9")
    assert refused.value.message.startswith("Trop de tentatives")
    assert enrolment_state(journey) is EnrolmentState.PENDING
    assert len(journey.platform.history(COMMUNE)) == events  # nothing stored
    journey.platform.withdraw_registration(code, client="198.51.100.4")
    assert enrolment_state(journey) is EnrolmentState.NOT_ENROLLED
