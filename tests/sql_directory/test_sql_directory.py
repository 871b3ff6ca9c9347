"""SqlDirectory answers as the in-memory directory does, from the imported sample."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text

from peps_onboarding import (
    ClassicRegistration,
    EstablishmentClosedError,
    EstablishmentIdentification,
    EstablishmentNotEnrolled,
    InMemoryCaptchaVerifier,
    InMemoryDatabase,
    InMemoryLetterSender,
    InMemoryMailer,
    InMemoryNetEntreprisesVerifier,
    Platform,
    UnknownEstablishmentError,
    build,
)
from peps_onboarding.adapters.argon2 import Argon2PasswordHasher
from peps_onboarding.adapters.sql.directory import SqlDirectory
from peps_onboarding.adapters.sql.directory_import import import_directory
from peps_onboarding.adapters.sql.directory_tables import (
    contracts,
    establishments,
    legal_representatives,
)
from peps_onboarding.adapters.sql.metadata import metadata
from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.domain.errors import DirectoryUnavailableError
from peps_onboarding.domain.notifications import LetterNotification
from peps_onboarding.domain.values import ContractNumber, Siret
from peps_onboarding.ports import UnitOfWork
from peps_onboarding.testing.journeys import holder_form, step_one_proof
from peps_onboarding.testing.samples import SAMPLE_ESTABLISHMENTS, sample_directory

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'directory.db'}")
    metadata.create_all(engine, tables=[establishments, contracts, legal_representatives])
    yield engine
    engine.dispose()


@pytest.fixture
def sample_csv() -> Iterator[Path]:
    resource = resources.files("peps_onboarding.data").joinpath("sample_directory.csv")
    with resources.as_file(resource) as path:
        yield path


@pytest.fixture
def directory(engine: Engine, sample_csv: Path) -> SqlDirectory:
    report = import_directory(engine, sample_csv, progress=False)
    assert report.rows_rejected == 0
    return SqlDirectory(engine)


@pytest.mark.rule("E2", "E4", "M2")
def test_answers_like_the_in_memory_sample_directory(directory: SqlDirectory) -> None:
    """Every sample SIRET: same establishment, contract, has_contract and representative."""
    expected = sample_directory()
    for row in SAMPLE_ESTABLISHMENTS:
        siret = Siret.parse(row.siret)
        assert directory.establishment(siret) == expected.establishment(siret)
        assert directory.has_contract(siret) == expected.has_contract(siret)
        assert directory.legal_representative(siret) == expected.legal_representative(siret)
        if row.contract:
            number = ContractNumber.parse(row.contract)
            assert directory.contract(siret, number) == expected.contract(siret, number)


@pytest.mark.rule("E2")
def test_a_contract_belongs_to_its_siret_only(directory: SqlDirectory) -> None:
    """Rule E2: another establishment's contract number is a wrong pair: None."""
    commune = Siret.parse("21330063500017")
    hospital_contract = ContractNumber.parse("FM330045")
    assert directory.contract(commune, hospital_contract) is None
    contract = directory.contract(commune, ContractNumber.parse("fm330063"))
    assert contract is not None and contract.fund == "FMIS" and contract.siret == commune


@pytest.mark.rule("E2")
def test_an_establishment_with_two_funds_has_both_contracts(directory: SqlDirectory) -> None:
    """A SIRET listed on two rows holds both contracts, each with its fund."""
    hospital = Siret.parse("26750020500187")
    funds = {
        number: directory.contract(hospital, ContractNumber.parse(number))
        for number in ("FM760020", "CN760020")
    }
    assert {n: c.fund if c else None for n, c in funds.items()} == {
        "FM760020": "FMIS",
        "CN760020": "CNRACL",
    }


@pytest.mark.rule("E1")
def test_an_unknown_siret_is_none(directory: SqlDirectory) -> None:
    """A valid SIRET that the directory does not hold: no establishment, no contract."""
    unknown = Siret.parse("73282932000074")
    assert directory.establishment(unknown) is None
    assert directory.has_contract(unknown) is False
    assert directory.legal_representative(unknown) is None


@pytest.mark.rule("E4")
def test_closed_and_ceased_states_are_read_back(directory: SqlDirectory) -> None:
    """« F » reads as closed and a ceased legal unit as ceased (both bar enrolment)."""
    closed = directory.establishment(Siret.parse("21690123100011"))
    ceased = directory.establishment(Siret.parse("26360090000173"))
    assert closed is not None and closed.closed and not closed.legal_unit_ceased
    assert ceased is not None and ceased.closed and ceased.legal_unit_ceased


@pytest.mark.rule("M2")
def test_a_representative_may_be_absent(directory: SqlDirectory) -> None:
    """A row without legal representative: the establishment exists, nobody gets letters."""
    syndicate = Siret.parse("25310080400165")
    assert directory.establishment(syndicate) is not None
    assert directory.legal_representative(syndicate) is None


def test_a_broken_database_is_unavailable_not_unknown(engine: Engine) -> None:
    """A database error is DirectoryUnavailableError, never "unknown SIRET"."""
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE directory_legal_representatives"))
    directory = SqlDirectory(engine)
    with pytest.raises(DirectoryUnavailableError):
        directory.legal_representative(Siret.parse("21330063500017"))


def test_an_unreachable_database_is_unavailable(tmp_path: Path) -> None:
    """A database that cannot be opened is DirectoryUnavailableError."""
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    try:
        directory = SqlDirectory(engine)
        with pytest.raises(DirectoryUnavailableError):
            directory.establishment(Siret.parse("21330063500017"))
    finally:
        engine.dispose()


def _platform(
    directory: SqlDirectory, unit_of_work: Callable[[], UnitOfWork] | None = None
) -> Platform:
    """The platform on this directory, the stores in memory unless given."""
    return build(
        unit_of_work=unit_of_work or InMemoryDatabase().unit_of_work,
        registry=directory,
        contracts=directory,
        net_entreprises=InMemoryNetEntreprisesVerifier(),
        captcha=InMemoryCaptchaVerifier(),
        mailer=InMemoryMailer(),
        letters=InMemoryLetterSender(),
        secret=b"sql-directory-test-secret-000000",
        hasher=Argon2PasswordHasher.fast_for_tests(),
        accept_test_email_domains=True,
    )


@pytest.mark.rule("E2", "E4")
def test_step_one_runs_on_the_sql_directory(directory: SqlDirectory) -> None:
    """Classic step 1 end to end: a known pair, a wrong pair, a closed establishment."""
    platform = _platform(directory)
    result = platform.identify_establishment(
        EstablishmentIdentification(
            siret="213 300 635 00017", contract_number="FM330063", captcha_response="trombone"
        )
    )
    assert isinstance(result, EstablishmentNotEnrolled)
    assert result.siret == "21330063500017"
    assert result.designation == "Commune de Saint-Aubin-de-Médoc"
    with pytest.raises(UnknownEstablishmentError):
        platform.identify_establishment(
            EstablishmentIdentification(
                siret="21330063500017", contract_number="FM330045", captcha_response="trombone"
            )
        )
    with pytest.raises(EstablishmentClosedError):
        platform.identify_establishment(
            EstablishmentIdentification(
                siret="21690123100011", contract_number="CN690123", captcha_response="trombone"
            )
        )


# --- on the stores' database: one connection per use case ------------------------------


@pytest.fixture
def database(tmp_path: Path, sample_csv: Path) -> Iterator[SqlDatabase]:
    database = SqlDatabase(f"sqlite:///{tmp_path / 'onboarding.db'}")
    database.upgrade()
    assert import_directory(database.engine, sample_csv, progress=False).rows_rejected == 0
    yield database
    database.dispose()


def _checkouts(engine: Engine) -> list[object]:
    taken: list[object] = []
    event.listen(engine, "checkout", lambda *args: taken.append(args[0]))
    return taken


def _sql_platform(database: SqlDatabase) -> Platform:
    return _platform(SqlDirectory(database), database.unit_of_work)


@pytest.mark.rule("C1", "E2")
def test_step_one_takes_one_pooled_connection_for_directory_and_stores(
    database: SqlDatabase,
) -> None:
    """Built on the SqlDatabase, the directory reads on the unit of work's connection:
    step 1 (two directory lookups and the enrolment) checks out one connection, not three."""
    platform = _sql_platform(database)
    taken = _checkouts(database.engine)
    result = platform.identify_establishment(
        EstablishmentIdentification(
            siret="21330063500017", contract_number="FM330063", captcha_response="trombone"
        )
    )
    assert result.designation == "Commune de Saint-Aubin-de-Médoc"
    assert len(taken) == 1


@pytest.mark.rule("C4", "M2")
def test_registration_reads_directory_and_writes_stores_on_one_connection(
    database: SqlDatabase,
) -> None:
    """Steps 2-3 look up the pair and the legal representative (M2) on the unit of
    work's connection too; the identifier counter keeps a pool of its own (A1)."""
    platform = _sql_platform(database)
    command = ClassicRegistration(
        proof=step_one_proof(platform, "21330063500017", "FM330063"),
        holder=holder_form("Jeanne", "Dupont"),
        terms_accepted=True,
    )
    taken = _checkouts(database.engine)
    submitted = platform.register(command)
    assert submitted.identifier.startswith("JDU")
    assert len(taken) == 1
    with database.unit_of_work() as uow:
        letters = [
            m.notification
            for m in uow.outbox.due(FAR_FUTURE, 10)
            if isinstance(m.notification, LetterNotification)
        ]
    assert [(letter.recipient_name, letter.recipient_title) for letter in letters] == [
        ("Madame Christine Lefèvre", "Maire")
    ]


def test_outside_a_unit_of_work_each_lookup_takes_and_returns_a_connection(
    database: SqlDatabase,
) -> None:
    """With no unit of work open on the thread, a lookup checks a connection out and
    gives it back; a unit of work ended is no longer read through."""
    directory = SqlDirectory(database)
    taken = _checkouts(database.engine)
    siret = Siret.parse("21330063500017")
    with database.unit_of_work() as uow:
        assert database.current_unit_of_work() is uow
        assert directory.establishment(siret) is not None
        with database.unit_of_work() as inner:
            assert database.current_unit_of_work() is inner
            assert directory.has_contract(siret)
        assert database.current_unit_of_work() is uow
    assert database.current_unit_of_work() is None
    assert len(taken) == 2  # the outer and the inner unit of work's
    assert directory.legal_representative(siret) is not None
    assert len(taken) == 3
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_another_threads_unit_of_work_is_not_read_through(database: SqlDatabase) -> None:
    """The unit of work is per thread: another thread's lookups take their own."""
    directory = SqlDirectory(database)
    seen: list[object] = []

    def look_up() -> None:
        seen.append(database.current_unit_of_work())
        seen.append(directory.establishment(Siret.parse("21330063500017")))

    with database.unit_of_work():
        worker = threading.Thread(target=look_up)
        worker.start()
        worker.join()
    assert seen[0] is None and seen[1] is not None


def test_a_failed_lookup_inside_a_unit_of_work_is_unavailable(database: SqlDatabase) -> None:
    """A database error on the shared connection is DirectoryUnavailableError too."""
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE directory_legal_representatives"))
    directory = SqlDirectory(database)
    with database.unit_of_work(), pytest.raises(DirectoryUnavailableError):
        directory.legal_representative(Siret.parse("21330063500017"))
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
