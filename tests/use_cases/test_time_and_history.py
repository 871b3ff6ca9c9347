"""Deadlines from the clock port and the idempotent sweep (T1); the history (L1)."""

from __future__ import annotations

import pytest

from peps_onboarding import AccountState, Identifier, converter
from peps_onboarding.domain.events import DomainEvent
from peps_onboarding.testing import COMMUNE, HOSPITAL, HOSPITAL_CONTRACT, PASSWORD, Journey
from peps_onboarding.testing.journeys import holder_form


@pytest.mark.rule("T1")
def test_the_sweep_is_idempotent(journey: Journey) -> None:
    """T1: a second pass at the same time changes nothing."""
    journey.enrolled_administrator()
    journey.register(HOSPITAL, HOSPITAL_CONTRACT, holder=holder_form("Luc", "Bernard"))
    journey.later(days=600)
    first = journey.platform.sweep()
    assert (first.accounts_expired, first.accounts_deleted, first.registrations_lapsed) == (1, 1, 1)
    events = len(journey.world.database.events)
    assert journey.platform.sweep().total == 0
    assert len(journey.world.database.events) == events


@pytest.mark.rule("T1", "A7")
def test_deadlines_follow_the_clock_port_not_the_system_clock(journey: Journey) -> None:
    """T1: the fake clock decides; 18 months to the day (21/03/2024 → 21/09/2025)."""
    admin = journey.enrolled_administrator()
    account = journey.world.database.accounts[Identifier.parse(admin)]
    assert account.expires_at is not None
    assert f"{account.expires_at:%d/%m/%Y}" == "21/09/2025"
    journey.clock.set(account.expires_at)
    journey.platform.sweep()
    assert journey.world.database.accounts[Identifier.parse(admin)].state is AccountState.EXPIRED


@pytest.mark.rule("T1")
def test_the_sweep_accepts_an_explicit_time(journey: Journey) -> None:
    """T1: ``sweep(now)`` for a scheduler that passes its own tick."""
    journey.register()
    later = journey.clock.now().replace(year=2025)
    assert journey.platform.sweep(later).registrations_lapsed == 1


@pytest.mark.rule("L1")
def test_every_state_change_is_an_event_in_order_with_who_acted(journey: Journey) -> None:
    """L1: what, when, which establishment and account, who acted; read back in order."""
    admin = journey.enrolled_administrator()
    user = journey.active_user(admin)
    journey.platform.promote(admin, user)
    history = journey.platform.history(COMMUNE)
    kinds = [e.kind for e in history]
    assert kinds[:2] == ["registration_submitted", "account_created"]
    assert "access_opened" in kinds
    assert kinds[-1] == "profile_changed"
    assert history[-1].actor == admin
    assert history[-1].account == user
    assert all(e.siret == COMMUNE for e in history)
    assert [e.at for e in history] == sorted(e.at for e in history)
    assert journey.platform.history(HOSPITAL) == ()
    data = converter.unstructure(list(history), list[DomainEvent])
    assert converter.structure(data, list[DomainEvent]) == list(history)


@pytest.mark.rule("T1", "A7", "C8")
@pytest.mark.parametrize("first_look", ["login", "establishment_members", "sweep"])
def test_an_applicant_met_long_after_day_j_gets_access_not_an_expiry(
    journey: Journey, first_look: str
) -> None:
    """The applicant's 18 months start when access opens: whoever comes first after both
    day J and the 18 months from creation, a use case or the sweep, opens access and
    restarts them, and the sweep after it never aborts (it used to meet the expiry the
    use case had recorded, and raise)."""
    submitted = journey.register(holder=holder_form())
    journey.deliver()
    journey.create_password("jeanne.dupont@employeur.example")
    journey.later(days=18 * 31)
    if first_look == "login":
        journey.platform.login(submitted.identifier, PASSWORD)
    elif first_look == "establishment_members":
        journey.platform.establishment_members(submitted.identifier)
    journey.platform.sweep()
    journey.platform.sweep()
    row = journey.platform.list_members(submitted.identifier).members[0]
    assert row.status == "Actif"
    assert journey.platform.login(submitted.identifier, PASSWORD).identifier == row.identifier
