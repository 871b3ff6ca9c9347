"""Fixtures of the domain tests: one plain account, built from values only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from peps_onboarding import Account, Identifier, Policy, Profile, Siret
from peps_onboarding.domain.account import Holder
from peps_onboarding.domain.values import (
    Civility,
    EmailAddress,
    FixedPhone,
    PersonName,
    PostalAddress,
    PostalCode,
    TextLine,
)


@pytest.fixture
def user() -> Account:
    """A user account « En attente d'activation », created on 13/03/2024."""
    holder = Holder(
        civility=Civility.MR,
        last_name=PersonName.parse("Martin"),
        first_name=PersonName.parse("Paul"),
        email=EmailAddress.parse("paul@mairie.fr"),
        phone=FixedPhone.parse("0556114124"),
        service_function=TextLine.parse("DGS"),
        address=PostalAddress(
            street=TextLine.parse("2 rue B"),
            postal_code=PostalCode.parse("33000"),
            city=TextLine.parse("Bordeaux"),
        ),
    )
    return Account.create(
        identifier=Identifier.parse("PMA000001"),
        siret=Siret.parse("21330063500017"),
        profile=Profile.USER,
        holder=holder,
        at=datetime(2024, 3, 13, 9, 30, tzinfo=UTC),
        policy=Policy(),
        actor="PMA000001",
    ).state
