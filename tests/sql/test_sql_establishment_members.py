"""« Mes intervenants » (R8) read from every store: memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pytest
from attrs import evolve

from peps_onboarding import AccountState, AccountStateForbidsLoginError
from peps_onboarding.domain.values import Identifier
from peps_onboarding.ports import UnitOfWork, UnitOfWorkFactory
from peps_onboarding.testing.journeys import COMMUNE, Journey, holder_form

JourneyOn = Callable[[UnitOfWorkFactory], Journey]  # the ``journey_on`` fixture


class Database(Protocol):
    """What the ``database`` fixture yields."""

    def unit_of_work(self) -> UnitOfWork: ...


@pytest.mark.rule("R8", "R6", "A7")
def test_every_member_reads_the_establishment_from_every_store(
    database: Database, journey_on: JourneyOn
) -> None:
    """R8: a user and an administrator read the same rows and the administrator's contact
    details back from the store, accents and dates whole; an expired member is refused
    with their state, and the expiry stands in the store (its one commit)."""
    journey = journey_on(database.unit_of_work)
    admin = journey.enrolled_administrator(holder=holder_form("Cécile", "Noël-Lefèvre"))
    holder = holder_form("Luc", "Moreau", civility="Monsieur")
    user = journey.platform.create_user(admin, holder).identifier
    journey.create_password(holder.email)

    by_user = journey.platform.establishment_members(user)
    by_admin = journey.platform.establishment_members(admin)
    managed = journey.platform.list_members(admin).members
    assert by_user.members == by_admin.members == tuple(evolve(r, rights=()) for r in managed)
    assert all(len(row.rights) == 2 for row in managed)  # R3, in the administrators' view
    assert by_user.siret == COMMUNE
    assert [(a.formal_name, a.email, a.phone) for a in by_user.administrators] == [
        ("Madame Cécile Noël-Lefèvre", "cecile.noel-lefevre@employeur.example", "05 56 11 41 23")
    ]
    assert {row.identifier: row.status for row in by_user.members} == {
        admin: "Actif",
        user: "Actif",
    }

    journey.later(days=18 * 31)
    with pytest.raises(AccountStateForbidsLoginError):
        journey.platform.establishment_members(user)
    with database.unit_of_work() as uow:
        account = uow.accounts.get(Identifier(user))
        assert account is not None and account.state is AccountState.EXPIRED
