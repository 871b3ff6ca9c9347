"""The history as a person reads it (L1): every event worded in French, in Paris time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from peps_onboarding.application.history import EVENT_LABELS, actor_label, describe
from peps_onboarding.domain.errors import OnboardingError
from peps_onboarding.domain.events import (
    ALL_EVENTS,
    AccountDeleted,
    Actor,
    AssistanceGiven,
    LinkIssued,
    LoginFailed,
    RightChanged,
)
from peps_onboarding.domain.links import LinkPurpose
from peps_onboarding.domain.rights import FMIS_REFUNDS, AccessLevel
from peps_onboarding.testing import Journey
from peps_onboarding.testing.journeys import COMMUNE

WINTER = datetime(2024, 3, 13, 9, 30, tzinfo=UTC)
SUMMER = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)


@pytest.mark.rule("L1")
def test_every_event_has_its_french_label() -> None:
    """A new event class cannot reach a screen unworded."""
    assert {event.kind for event in ALL_EVENTS} == set(EVENT_LABELS)


@pytest.mark.rule("L1")
def test_a_whole_journey_reads_in_french_in_paris_time() -> None:
    """Every event of a journey (registration, access, N-E, rights, lockout, reset) is
    one French line, with no code left in it."""
    journey = Journey.start()
    admin = journey.enrolled_administrator()
    journey.join_with_net_entreprises()
    journey.active_user(admin)
    for _ in range(3):
        with pytest.raises(OnboardingError):
            journey.platform.login(admin, "mauvais")
    lines = [describe(event) for event in journey.platform.history(COMMUNE)]
    assert lines
    codes = {event.kind for event in ALL_EVENTS} | {p.value for p in LinkPurpose}
    for line in lines:
        assert not set(re.findall(r"[a-z_]+", line)) & codes, line
        assert "system" not in line and "anonymous" not in line
    assert any("Inscription demandée" in line for line in lines)
    assert any("Compte bloqué" in line and "par la plateforme" in line for line in lines)


@pytest.mark.rule("L1", "T1")
def test_moments_are_in_paris_time_winter_and_summer() -> None:
    """09:30 UTC is 10:30 in March and 11:30 in July, in Paris."""
    winter = LinkIssued(
        at=WINTER,
        siret="21330063500017",
        account="JDU000001",
        purpose=LinkPurpose.PASSWORD_CREATION.value,
        expires_at=SUMMER,
    )
    assert describe(winter) == (
        "13/03/2024 à 10:30 — Lien de création du mot de passe envoyé (valable jusqu'au "
        "01/07/2024 à 11:30) — compte JDU000001 — par la plateforme"
    )


@pytest.mark.rule("L1", "R9")
def test_details_are_worded_with_the_catalogue_and_the_actor() -> None:
    """Service names come from the catalogue, levels and profiles from their labels,
    operators and roles in words; one failure is singular, two plural."""
    right = RightChanged(
        at=WINTER,
        siret="21330063500017",
        account="PMA000001",
        actor="JDU000001",
        service=FMIS_REFUNDS.code,
        level=AccessLevel.READ_ONLY.value,
    )
    assert "(« Remboursements FMIS » : Lecture seule)" in describe(right, [FMIS_REFUNDS])
    assert "par JDU000001" in describe(right)
    once = LoginFailed(at=WINTER, siret="x", consecutive_failures=1, actor=Actor.ANONYMOUS)
    twice = LoginFailed(at=WINTER, siret="x", consecutive_failures=2, actor=Actor.ANONYMOUS)
    assert "(1 échec consécutif)" in describe(once)
    assert "(2 échecs consécutifs)" in describe(twice)
    assert describe(once).endswith("par une personne non identifiée")
    deleted = AccountDeleted(at=WINTER, siret="x", reason="creation_link_expired")
    assert "(mot de passe non créé dans les 15 jours)" in describe(deleted)
    helped = AssistanceGiven(
        at=WINTER,
        siret="x",
        actor=Actor.operator("Camille"),
        action=AssistanceGiven.UNBLOCK,
        reason="appel du 12/03",
    )
    assert "(déblocage du compte ; motif : appel du 12/03)" in describe(helped)
    assert describe(helped).endswith("par l'assistance (Camille)")
    assert actor_label(Actor.LEGAL_REPRESENTATIVE) == "le représentant légal"
