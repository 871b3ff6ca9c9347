"""Rule E2 in the database: a contract number belongs to one SIRET, on both dialects."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import create_engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from peps_onboarding.adapters.sql.directory import SqlDirectory
from peps_onboarding.adapters.sql.directory_import import COLUMNS, import_directory
from peps_onboarding.adapters.sql.directory_tables import contracts, establishments
from peps_onboarding.adapters.sql.migrations import SchemaUpgradeError
from peps_onboarding.adapters.sql.stores import SqlDatabase, upgrade
from peps_onboarding.domain.values import ContractNumber, Siret

COMMUNE = Siret.parse("21330063500017")
HOSPITAL = Siret.parse("26330045100014")
NUMBER = ContractNumber.parse("FM330063")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest) -> str:
    """An empty database of each dialect in turn."""
    found: str = request.getfixturevalue(f"{request.param}_url")
    return found


def _line(siret: Siret, designation: str, number: str, fund: str) -> str:
    cells = dict.fromkeys(COLUMNS, "")
    cells.update(
        siret=siret.value,
        designation=designation,
        categorie_juridique="7210",
        etat="A",
        unite_legale_cessee="non",
        numero_contrat=number,
        fonds=fund,
    )
    return ";".join(cells[c] for c in COLUMNS)


def _file(*lines: str) -> io.StringIO:
    return io.StringIO("\n".join((";".join(COLUMNS), *lines)) + "\n")


def _establishment(siret: Siret) -> dict[str, object]:
    return {
        "siret": siret.value,
        "designation": f"Établissement {siret.value}",
        "legal_category": "7210",
        "closed": False,
        "legal_unit_ceased": False,
    }


@pytest.mark.rule("E2")
def test_a_number_named_again_for_another_siret_moves_there(url: str) -> None:
    """The last line naming a number wins, in one file and across files, on both dialects."""
    upgrade(url)
    with SqlDatabase(url) as database:
        report = import_directory(
            database.engine,
            _file(
                _line(COMMUNE, "Commune de Saint-Aubin", "FM330063", "FMIS"),
                _line(HOSPITAL, "Centre hospitalier", "CH330045", "FMIS"),
            ),
            progress=False,
        )
        assert report.rows_imported == 2
        later = _file(_line(HOSPITAL, "Centre hospitalier", "fm 330063", "CNRACL"))
        assert import_directory(database.engine, later, progress=False).rows_imported == 1
        directory = SqlDirectory(database)
        assert directory.contract(COMMUNE, NUMBER) is None
        moved = directory.contract(HOSPITAL, NUMBER)
        assert moved is not None and moved.fund == "CNRACL"
        assert not directory.has_contract(COMMUNE)
        assert directory.has_contract(HOSPITAL)
        with database.engine.connect() as connection:
            holders = connection.execute(select(contracts.c.number, contracts.c.siret)).all()
        assert sorted(holders) == [("CH330045", HOSPITAL.value), ("FM330063", HOSPITAL.value)]


@pytest.mark.rule("E2")
def test_the_database_refuses_one_number_for_two_sirets(url: str) -> None:
    """Whatever process writes the table, the unique index keeps one SIRET per number."""
    upgrade(url)
    with SqlDatabase(url) as database, database.engine.begin() as connection:
        connection.execute(
            insert(establishments), [_establishment(COMMUNE), _establishment(HOSPITAL)]
        )
        connection.execute(
            insert(contracts).values(siret=COMMUNE.value, number=NUMBER.value, fund="FMIS")
        )
        with pytest.raises(IntegrityError), connection.begin_nested():
            connection.execute(
                insert(contracts).values(siret=HOSPITAL.value, number=NUMBER.value, fund="FMIS")
            )


@pytest.mark.rule("E2", "L1")
def test_a_database_with_a_shared_number_is_not_upgraded_until_the_operator_chooses(
    url: str,
) -> None:
    """0002 → head stops on a number held by two SIRETs, names them, and changes nothing."""
    upgrade(url, "0002")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(establishments), [_establishment(COMMUNE), _establishment(HOSPITAL)]
            )
            connection.execute(
                insert(contracts),
                [
                    {"siret": COMMUNE.value, "number": NUMBER.value, "fund": "FMIS"},
                    {"siret": HOSPITAL.value, "number": NUMBER.value, "fund": "FMIS"},
                    {"siret": HOSPITAL.value, "number": "CH330045", "fund": "FMIS"},
                ],
            )
        with pytest.raises(SchemaUpgradeError) as refused:
            upgrade(url)
        assert f"FM330063 : {COMMUNE.value}, {HOSPITAL.value}" in str(refused.value)
        assert "CH330045" not in str(refused.value)
        with SqlDatabase(url) as database:
            assert database.revision() == "0002"
        with engine.begin() as connection:
            assert len(connection.execute(select(contracts)).all()) == 3
            connection.execute(delete(contracts).where(contracts.c.siret == COMMUNE.value))
        upgrade(url)
        with SqlDatabase(url) as database:
            assert database.revision() == "0006"
            directory = SqlDirectory(database)
            assert directory.contract(HOSPITAL, NUMBER) is not None
    finally:
        engine.dispose()
