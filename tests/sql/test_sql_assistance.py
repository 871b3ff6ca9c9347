"""The support's actions (R9) kept durably: their events read back whole from SQLite and
PostgreSQL, the operator in the events table's actor column (L1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from peps_onboarding import AccountState, Actor, AssistanceGiven, InvalidCredentialsError
from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.adapters.sql.tables import events
from peps_onboarding.domain.errors import AccountBlockedError
from peps_onboarding.domain.values import Identifier
from peps_onboarding.ports import UnitOfWorkFactory
from peps_onboarding.testing.journeys import COMMUNE, PASSWORD, Journey

JourneyOn = Callable[[UnitOfWorkFactory], Journey]  # the ``journey_on`` fixture

# As long as the stores allow: the longest operator name, a reason of every kind of
# character a French sentence has (accents, quotes, « », a no-break space, an emoji).
OPERATOR = "o" * Actor.OPERATOR_MAX_LENGTH
REASON = ("Appel de Mme O'Brien « compte bloqué » : vérifié\u00a0✔ 🙂 " * 20)[:500].strip()


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_database(request: pytest.FixtureRequest) -> SqlDatabase:
    """A migrated store of each SQL dialect in turn."""
    database: SqlDatabase = request.getfixturevalue(f"{request.param}_database")
    return database


def blocked_administrator(
    unit_of_work: UnitOfWorkFactory, journey_on: JourneyOn
) -> tuple[Journey, str]:
    journey = journey_on(unit_of_work)
    admin = journey.enrolled_administrator()
    for _ in range(journey.platform.policy.max_failed_logins):
        with pytest.raises((InvalidCredentialsError, AccountBlockedError)):
            journey.platform.login(admin, "Attaque-123!")
    return journey, admin


@pytest.mark.rule("R9", "L1")
def test_an_assistance_event_survives_a_round_trip_through_sql(
    sql_database: SqlDatabase, journey_on: JourneyOn
) -> None:
    """R9, L1: the reason and the operator read back equal; the actor column holds the
    operator whole (40 characters at most), and the unblocked administrator logs in."""
    journey, admin = blocked_administrator(sql_database.unit_of_work, journey_on)
    journey.platform.assist_unblock(OPERATOR, admin, reason=REASON)

    given, unblocked = journey.platform.history(COMMUNE)[-2:]
    assert given == AssistanceGiven(
        at=journey.clock.now(),
        siret=COMMUNE,
        account=admin,
        actor=Actor.operator(OPERATOR),
        action=AssistanceGiven.UNBLOCK,
        reason=REASON,
    )
    assert (unblocked.kind, unblocked.actor) == ("account_unblocked", Actor.operator(OPERATOR))
    with sql_database.engine.connect() as connection:
        rows = connection.execute(
            select(events.c.kind, events.c.actor).order_by(events.c.id.desc()).limit(2)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("account_unblocked", f"operator:{OPERATOR}"),
        ("assistance_given", f"operator:{OPERATOR}"),
    ]
    assert len(rows[0].actor) == 40
    with sql_database.unit_of_work() as uow:
        account = uow.accounts.get(Identifier(admin))
        assert account is not None and account.state is AccountState.ACTIVE
    journey.platform.login(admin, PASSWORD)
