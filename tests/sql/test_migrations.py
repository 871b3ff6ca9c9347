"""Alembic migrations: a database is created by one call, and an older one upgrades in place."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from attrs import evolve
from sqlalchemy import Connection, column, create_engine, insert, inspect, table

from peps_onboarding.adapters.sql.metadata import metadata
from peps_onboarding.adapters.sql.stores import SqlDatabase, upgrade
from peps_onboarding.domain.account import Account, Holder, Profile
from peps_onboarding.domain.establishment import Enrolment
from peps_onboarding.domain.events import DomainEvent, LinkIssued
from peps_onboarding.domain.links import Link, LinkPurpose, hash_token
from peps_onboarding.domain.notifications import (
    EmailKind,
    EmailNotification,
    Notification,
    OutboxMessage,
)
from peps_onboarding.domain.policy import Policy
from peps_onboarding.domain.values import (
    Civility,
    EmailAddress,
    FixedPhone,
    Identifier,
    PersonName,
    PostalAddress,
    PostalCode,
    Siret,
    TextLine,
)
from peps_onboarding.serialization import converter

HEAD = "0006"
AT = datetime(2024, 3, 13, 9, 30, tzinfo=UTC)
SIRET = Siret.parse("21330063500017")
IDENTIFIER = Identifier.build("JDU", 7)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each dialect in turn."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def _differences(url: str) -> list[object]:
    database = SqlDatabase(url)
    try:
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        database.dispose()


@pytest.mark.rule("L1", "M3")
def test_upgrade_creates_the_whole_schema_from_an_empty_database(empty_url: str) -> None:
    """One call brings an empty database to the head; it matches the tables the code uses."""
    upgrade(empty_url)
    database = SqlDatabase(empty_url)
    try:
        assert database.revision() == HEAD
        names = set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()
    assert {"enrolments", "accounts", "rights", "links", "events", "outbox"} <= names
    assert {"directory_establishments", "directory_contracts"} <= names
    assert _differences(empty_url) == []


@pytest.mark.rule("L1")
def test_upgrading_twice_changes_nothing(empty_url: str) -> None:
    """Upgrading a database already at the head is a no-op."""
    upgrade(empty_url)
    upgrade(empty_url)
    assert _differences(empty_url) == []


def _account() -> Account:
    holder = Holder(
        civility=Civility.MRS,
        last_name=PersonName.parse("Dupont"),
        first_name=PersonName.parse("Jeanne"),
        email=EmailAddress.parse("jeanne.dupont@mairie-saint-aubin.fr"),
        phone=FixedPhone.parse("05 56 11 41 23"),
        service_function=TextLine.parse("Ressources humaines", max_length=100),
        address=PostalAddress(
            street=TextLine.parse("6 place des Clémens"),
            postal_code=PostalCode.parse("33160"),
            city=TextLine.parse("Saint-Aubin"),
            locality=TextLine.parse("Le Bourg"),
        ),
    )
    return Account.create(
        identifier=IDENTIFIER,
        siret=SIRET,
        profile=Profile.ADMINISTRATOR,
        holder=holder,
        at=AT,
        policy=Policy(),
        actor=IDENTIFIER.value,
    ).state


def _message() -> OutboxMessage:
    return OutboxMessage(
        id="0" * 31 + "1",
        siret=SIRET.value,
        created_at=AT,
        notification=EmailNotification(
            kind=EmailKind.ACCESS_OPEN,
            to="jeanne.dupont@mairie-saint-aubin.fr",
            recipient="Madame Jeanne Dupont",
            siret=SIRET.value,
            designation="Commune de Saint-Aubin",
            identifier=IDENTIFIER.value,
        ),
        next_attempt_at=AT,
    )


def _fill_at_0001(url: str) -> tuple[Enrolment, Account, Link, DomainEvent, OutboxMessage]:
    """Rows written with plain SQL into the 0001 schema (no ``claimed_until`` yet)."""
    enrolment = (
        Enrolment(siret=SIRET).submit_classic(applicant=IDENTIFIER, at=AT, policy=Policy()).state
    )
    account = _account()
    link = Link(
        token_hash=hash_token("a-token-never-stored"),
        purpose=LinkPurpose.PASSWORD_CREATION,
        identifier=IDENTIFIER,
        siret=SIRET,
        created_at=AT,
        expires_at=AT + timedelta(days=15),
    )
    event = LinkIssued(
        at=AT,
        siret=SIRET.value,
        account=IDENTIFIER.value,
        actor="system",
        purpose=link.purpose.value,
        expires_at=link.expires_at,
    )
    message = _message()
    engine = create_engine(url)
    dialect = engine.dialect.name

    def when(moment: datetime | None) -> object:
        return _stored(moment, dialect)

    account_row: dict[str, object] = {
        "identifier": IDENTIFIER.value,
        "siret": SIRET.value,
        "profile": "administrator",
        "state": "pending_activation",
        "civility": "Madame",
        "last_name": "Dupont",
        "first_name": "Jeanne",
        "email": "jeanne.dupont@mairie-saint-aubin.fr",
        "phone": "0556114123",
        "service_function": "Ressources humaines",
        "street": "6 place des Clémens",
        "postal_code": "33160",
        "city": "Saint-Aubin",
        "locality": "Le Bourg",
        "net_entreprises": False,
        "created_at": when(AT),
        "failed_logins": 0,
        "activation_deadline": when(account.activation_deadline),
        "expires_at": when(account.expires_at),
        "deadline": when(account.activation_deadline),
        "version": 1,
    }
    if dialect == "sqlite":  # PostgreSQL's identity column numbers the rows itself
        account_row["seq"] = 1
    try:
        with engine.begin() as connection:
            _insert(
                connection,
                "enrolments",
                siret=SIRET.value,
                state="pending",
                path="classic",
                applicant=IDENTIFIER.value,
                submitted_at=when(AT),
                access_from=when(enrolment.access_from),
                deadline=when(enrolment.access_from),
                version=1,
            )
            _insert(connection, "accounts", **account_row)
            for position, right in enumerate(account.rights):
                _insert(
                    connection,
                    "rights",
                    identifier=IDENTIFIER.value,
                    service=right.service,
                    level=right.level.value,
                    position=position,
                )
            _insert(connection, "identifier_counters", prefix="JDU", last_number=7)
            _insert(
                connection,
                "links",
                token_hash=link.token_hash,
                purpose="password_creation",
                identifier=IDENTIFIER.value,
                siret=SIRET.value,
                created_at=when(AT),
                expires_at=when(link.expires_at),
            )
            _insert(
                connection,
                "events",
                siret=SIRET.value,
                kind="link_issued",
                at=when(AT),
                account=IDENTIFIER.value,
                actor="system",
                payload=converter.dumps(event, DomainEvent),
            )
            _insert(
                connection,
                "outbox",
                id=message.id,
                siret=SIRET.value,
                created_at=when(AT),
                next_attempt_at=when(AT),
                attempts=0,
                payload=json.dumps(converter.unstructure(message.notification, Notification)),
            )
    finally:
        engine.dispose()
    return enrolment, account, link, event, message


def _insert(connection: Connection, name: str, **row: object) -> None:
    """An INSERT of these columns only, knowing nothing of the code's tables."""
    statement = insert(table(name, *(column(c) for c in row))).values(row)
    connection.execute(statement)


def _stored(moment: datetime | None, dialect: str) -> object:
    """A datetime as revision 0001 stores it: naive UTC text on SQLite, aware on PostgreSQL."""
    assert moment is not None
    utc = moment.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(" ") if dialect == "sqlite" else utc


@pytest.mark.rule("E6", "L1", "M3", "T1")
def test_a_database_at_0001_upgrades_in_place_and_keeps_its_data(empty_url: str) -> None:
    """Rows written by revision 0001 are read back by the stores after the upgrade to head."""
    upgrade(empty_url, "0001")
    enrolment, account, link, event, message = _fill_at_0001(empty_url)
    upgrade(empty_url)
    database = SqlDatabase(empty_url)
    try:
        assert database.revision() == HEAD
        with database.unit_of_work() as uow:
            assert uow.enrolments.get(SIRET) == evolve(enrolment, version=1)
            assert uow.accounts.get(IDENTIFIER) == evolve(account, version=1)
            assert uow.links.by_hash(link.token_hash) == evolve(link, version=1)  # 0004
            assert list(uow.events.history(SIRET)) == [event]
            assert list(uow.outbox.due(AT, 10)) == [message]
            assert [e.siret for e in uow.enrolments.due(AT + timedelta(days=8))] == [SIRET]
            assert uow.accounts.next_number("JDU") == 8
        claimed = database.claim_due_outbox(AT, 10, timedelta(minutes=5))
        assert claimed == [evolve(message, claimed_until=AT + timedelta(minutes=5))]
    finally:
        database.dispose()
