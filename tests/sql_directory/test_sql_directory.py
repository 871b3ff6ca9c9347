"""SqlDirectory answers as the in-memory directory does, from the imported sample."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from peps_onboarding import (
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
from peps_onboarding.adapters.sql.directory_tables import (
    contracts,
    establishments,
    legal_representatives,
)
from peps_onboarding.adapters.sql.metadata import metadata
from peps_onboarding.directory_import import import_directory
from peps_onboarding.domain.errors import DirectoryUnavailableError
from peps_onboarding.domain.values import ContractNumber, Siret
from peps_onboarding.samples import SAMPLE_ESTABLISHMENTS, sample_directory


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


def _platform(directory: SqlDirectory) -> Platform:
    database = InMemoryDatabase()
    return build(
        unit_of_work=database.unit_of_work,
        registry=directory,
        contracts=directory,
        net_entreprises=InMemoryNetEntreprisesVerifier(),
        captcha=InMemoryCaptchaVerifier(),
        mailer=InMemoryMailer(),
        letters=InMemoryLetterSender(),
        secret=b"sql-directory-test-secret-000000",
        hasher=Argon2PasswordHasher.fast_for_tests(),
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
    assert result == EstablishmentNotEnrolled(
        siret="21330063500017", designation="Commune de Saint-Aubin-de-Médoc"
    )
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
