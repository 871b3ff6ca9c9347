"""Whole journeys through the platform on SQLite and PostgreSQL, and what the raw
database holds afterwards (no password, no raw link token)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, MetaData, select

from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.domain.account import AccountState, Profile
from peps_onboarding.domain.establishment import EnrolmentState
from peps_onboarding.domain.notifications import EmailKind
from peps_onboarding.domain.values import Identifier, Siret
from peps_onboarding.ports import UnitOfWorkFactory
from peps_onboarding.testing.journeys import (
    COMMUNE,
    HOSPITAL,
    HOSPITAL_CONTRACT,
    PASSWORD,
    Journey,
    holder_form,
)

JourneyOn = Callable[[UnitOfWorkFactory], Journey]  # the ``journey_on`` fixture
NEW_PASSWORD = "Nouveau-mot-2"
_TOKEN = re.compile(r"jeton=([A-Za-z0-9_\-]+)")


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_database(request: pytest.FixtureRequest) -> SqlDatabase:
    """A migrated store of each SQL dialect in turn."""
    database: SqlDatabase = request.getfixturevalue(f"{request.param}_database")
    return database


@pytest.mark.rule("C5", "C7", "C8", "E3", "L1", "M3")
def test_the_classic_journey_runs_to_day_j_on_sql(
    sql_database: SqlDatabase, journey_on: JourneyOn
) -> None:
    """Register, create the password, reach day J, log in: all of it stored durably."""
    journey = journey_on(sql_database.unit_of_work)
    holder = holder_form()
    administrator = journey.enrolled_administrator(holder=holder)
    logged = journey.platform.login(administrator, PASSWORD)
    assert logged is not None
    with sql_database.unit_of_work() as uow:
        enrolment = uow.enrolments.get(Siret(COMMUNE))
        account = uow.accounts.get(Identifier(administrator))
        assert enrolment is not None and enrolment.state is EnrolmentState.ENROLLED
        assert account is not None and account.state is AccountState.ACTIVE
        assert account.last_login_at == journey.clock.now()
        assert uow.outbox.pending_count() == 0
    kinds = [event.kind for event in journey.platform.history(COMMUNE)]
    assert kinds[0] == "registration_submitted"
    assert "access_opened" in kinds and kinds[-1] == "login_succeeded"
    assert [letter.siret for letter in journey.world.letters.sent] == [COMMUNE]
    kinds_mailed = [mail.kind for mail in journey.world.mailer.to(holder.email)]
    assert kinds_mailed == [EmailKind.PASSWORD_CREATION, EmailKind.ACCESS_OPEN]


@pytest.mark.rule("N3", "N4", "E6", "R4")
def test_the_net_entreprises_journeys_run_on_sql(
    sql_database: SqlDatabase, journey_on: JourneyOn
) -> None:
    """N4 enrols at once with an administrator; N3 then adds a user, in that order."""
    journey = journey_on(sql_database.unit_of_work)
    first = journey.join_with_net_entreprises(HOSPITAL)
    second = journey.join_with_net_entreprises(
        HOSPITAL, last_name="Durand", first_name="Alice", email="alice.durand@employeur.example"
    )
    assert (first.profile, second.profile) == (Profile.ADMINISTRATOR.value, Profile.USER.value)
    with sql_database.unit_of_work() as uow:
        enrolment = uow.enrolments.get(Siret(HOSPITAL))
        assert enrolment is not None and enrolment.state is EnrolmentState.ENROLLED
        members = uow.accounts.of_establishment(Siret(HOSPITAL))
        assert [m.identifier.value for m in members] == [first.identifier, second.identifier]
        assert all(m.net_entreprises and m.password_hash is None for m in members)


@pytest.mark.rule("C6", "T1")
def test_an_unused_creation_link_lapses_the_registration_on_sql(
    sql_database: SqlDatabase, journey_on: JourneyOn
) -> None:
    """After 15 days without a password, the sweep deletes the account and lapses it."""
    journey = journey_on(sql_database.unit_of_work)
    submitted = journey.register()
    journey.later(days=15, seconds=1)
    journey.platform.sweep()
    with sql_database.unit_of_work() as uow:
        enrolment = uow.enrolments.get(Siret(COMMUNE))
        account = uow.accounts.get(Identifier(submitted.identifier))
        assert enrolment is not None and enrolment.state is EnrolmentState.NOT_ENROLLED
        assert account is not None and account.state is AccountState.DELETED
        assert list(uow.accounts.due(journey.clock.now() + timedelta(days=1))) == []


@pytest.mark.rule("A3", "A8", "M4")
def test_the_raw_database_holds_no_password_and_no_raw_token(
    sql_database: SqlDatabase, journey_on: JourneyOn
) -> None:
    """Every cell of every table, read as text, contains neither a password nor a token."""
    journey = journey_on(sql_database.unit_of_work)
    holder = holder_form()
    administrator = journey.enrolled_administrator(holder=holder)
    journey.platform.request_password_reset(administrator)
    reset_token = journey.last_token(holder.email)
    journey.platform.reset_password(reset_token, NEW_PASSWORD, NEW_PASSWORD)
    other = holder_form("Paul", "Martin")
    journey.register(HOSPITAL, HOSPITAL_CONTRACT, holder=other)
    withdrawal_code = journey.withdrawal_code_in_letter(HOSPITAL)
    secrets = {PASSWORD, NEW_PASSWORD, withdrawal_code}
    for mail in journey.world.mailer.sent:
        secrets.update(_TOKEN.findall(f"{mail.link_url} {mail.text} {mail.html}"))
    for letter in journey.world.letters.sent:
        secrets.update(_TOKEN.findall(f"{letter.withdrawal_url} {letter.text}"))
    # Three creation links, one reset link, one withdrawal code at least.
    assert reset_token in secrets and len(secrets) >= 6
    cells = _every_cell(sql_database.engine)
    assert any(cell.startswith("$argon2id$") for cell in cells)  # the dump reads it all
    leaks = {secret for secret in secrets for cell in cells if secret in cell}
    assert leaks == set()


def _every_cell(engine: Engine) -> list[str]:
    """Every non-null value of every table of the database, as text."""
    reflected = MetaData()
    reflected.reflect(engine)
    cells: list[str] = []
    with engine.connect() as connection:
        for table in reflected.sorted_tables:
            for row in connection.execute(select(table)):
                cells.extend(str(value) for value in row if value is not None)
    return cells
