"""The in-memory directory keeps E2 as the SQL one does: one SIRET per contract number."""

from __future__ import annotations

import pytest

from peps_onboarding.adapters.memory import InMemoryDirectory
from peps_onboarding.domain.establishment import Contract, Establishment
from peps_onboarding.domain.values import ContractNumber, LegalCategory, Siret

COMMUNE = Siret.parse("21330063500017")
HOSPITAL = Siret.parse("26330045100014")
NUMBER = ContractNumber.parse("FM330063")


def _establishment(siret: Siret) -> Establishment:
    return Establishment(
        siret=siret, designation=f"Établissement {siret}", legal_category=LegalCategory("7210")
    )


@pytest.mark.rule("E2")
def test_a_number_added_for_another_siret_moves_there() -> None:
    """As a later import line does: the number leaves its first SIRET, with its fund."""
    directory = InMemoryDirectory()
    directory.add(
        _establishment(COMMUNE),
        contracts=[
            Contract(number=NUMBER, fund="FMIS", siret=COMMUNE),
            Contract(number=ContractNumber.parse("CN330063"), fund="CNRACL", siret=COMMUNE),
        ],
    )
    directory.add(
        _establishment(HOSPITAL),
        contracts=[Contract(number=NUMBER, fund="IRCANTEC", siret=HOSPITAL)],
    )
    assert directory.contract(COMMUNE, NUMBER) is None
    assert directory.contract(HOSPITAL, NUMBER) == Contract(
        number=NUMBER, fund="IRCANTEC", siret=HOSPITAL
    )
    assert directory.has_contract(COMMUNE)  # it keeps its other contract
    directory.add(
        _establishment(HOSPITAL),
        contracts=[
            Contract(number=ContractNumber.parse("CN330063"), fund="CNRACL", siret=HOSPITAL)
        ],
    )
    assert not directory.has_contract(COMMUNE)
    assert directory.has_contract(HOSPITAL)


def test_a_contract_must_name_the_establishment_it_is_added_with() -> None:
    directory = InMemoryDirectory()
    with pytest.raises(ValueError, match="E2"):
        directory.add(
            _establishment(COMMUNE),
            contracts=[Contract(number=NUMBER, fund="FMIS", siret=HOSPITAL)],
        )
