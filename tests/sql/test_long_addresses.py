"""Real addresses are stored as typed on every store (rule C4), PostgreSQL's VARCHAR
lengths included, and the directory keeps a legal representative's long address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pytest

from peps_onboarding.domain.values import (
    ADDRESS_LINE_MAX_LENGTH,
    CITY_MAX_LENGTH,
    Identifier,
)
from peps_onboarding.ports import UnitOfWork, UnitOfWorkFactory
from peps_onboarding.testing.journeys import Journey, address_form, holder_form

JourneyOn = Callable[[UnitOfWorkFactory], Journey]

LONGEST_COMMUNE = "Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson"
LONG_STREET = "12 avenue du Maréchal de Lattre de Tassigny"


class Database(Protocol):
    def unit_of_work(self) -> UnitOfWork: ...


@pytest.mark.rule("C4")
@pytest.mark.parametrize(
    ("street", "city", "complement"),
    [
        (LONG_STREET, LONGEST_COMMUNE, "Bâtiment administratif, escalier B, 2e étage"),
        ("1" * ADDRESS_LINE_MAX_LENGTH, "B" * CITY_MAX_LENGTH, "C" * ADDRESS_LINE_MAX_LENGTH),
    ],
    ids=["real", "at-the-caps"],
)
def test_a_long_address_is_stored_and_read_back_as_typed(
    database: Database, journey_on: JourneyOn, street: str, city: str, complement: str
) -> None:
    """The longest commune and a long avenue, and values at the caps, come back unchanged."""
    journey = journey_on(database.unit_of_work)
    address = address_form(
        street=street,
        postal_code="51290",
        city=city,
        address_complement=complement,
        identification_complement=complement,
        locality=complement,
    )
    submitted = journey.register(holder=holder_form(address=address))
    with database.unit_of_work() as uow:
        account = uow.accounts.get(Identifier.parse(submitted.identifier))
    assert account is not None
    stored = account.holder.address
    assert (str(stored.street), str(stored.city)) == (street, city)
    assert str(stored.address_complement) == complement
    assert str(stored.identification_complement) == complement
    assert str(stored.locality) == complement
