"""A small, realistic directory for the demo, the documentation and tests.

The SIRETs carry valid keys but are made up; names and addresses are fictitious.
"""

from __future__ import annotations

from ..adapters.memory import InMemoryDirectory
from ..domain.establishment import Contract, Establishment, LegalRepresentative
from ..domain.values import (
    Civility,
    ContractNumber,
    LegalCategory,
    PostalAddress,
    PostalCode,
    Siret,
    TextLine,
)

__all__ = ["SAMPLE_ESTABLISHMENTS", "SampleEstablishment", "sample_directory"]


def _address(street: str, postal_code: str, city: str) -> PostalAddress:
    return PostalAddress(
        street=TextLine.parse(street),
        postal_code=PostalCode.parse(postal_code),
        city=TextLine.parse(city),
    )


class SampleEstablishment:
    """One row of the sample directory: what a person would type, and what is expected."""

    def __init__(
        self,
        *,
        siret: str,
        contract: str | None,
        fund: str,
        designation: str,
        legal_category: str,
        street: str,
        postal_code: str,
        city: str,
        representative: tuple[Civility, str, str, str],
        closed: bool = False,
        ceased: bool = False,
    ) -> None:
        self.siret = siret
        self.contract = contract
        self.fund = fund
        self.designation = designation
        self.legal_category = legal_category
        self.street, self.postal_code, self.city = street, postal_code, city
        self.representative = representative
        self.closed, self.ceased = closed, ceased


SAMPLE_ESTABLISHMENTS: tuple[SampleEstablishment, ...] = (
    SampleEstablishment(
        siret="21330063500017",
        contract="FM330063",
        fund="FMIS",
        designation="Commune de Saint-Aubin-de-Médoc",
        legal_category="7210",
        street="6 place des Clémens",
        postal_code="33160",
        city="Saint-Aubin-de-Médoc",
        representative=(Civility.MRS, "Lefèvre", "Christine", "Maire"),
    ),
    SampleEstablishment(
        siret="26330045100014",
        contract="FM330045",
        fund="FMIS",
        designation="Centre hospitalier de Libourne",
        legal_category="7364",
        street="112 rue de la Marne",
        postal_code="33500",
        city="Libourne",
        representative=(Civility.MR, "Garnier", "Olivier", "Directeur"),
    ),
    SampleEstablishment(
        siret="55210055400401",
        contract="FM552100",
        fund="FMIS",
        designation="Clinique des Tilleuls SAS",
        legal_category="5710",
        street="3 allée des Tilleuls",
        postal_code="69003",
        city="Lyon",
        representative=(Civility.MR, "Roux", "Bernard", "Président"),
    ),
    SampleEstablishment(
        siret="21690123100011",
        contract="CN690123",
        fund="CNRACL",
        designation="Commune de Villefranche-d'Azergues",
        legal_category="7210",
        street="1 place de la Mairie",
        postal_code="69400",
        city="Villefranche-sur-Saône",
        representative=(Civility.MR, "Petit", "Alain", "Maire"),
        closed=True,
    ),
    SampleEstablishment(
        siret="26690002600102",
        contract=None,
        fund="",
        designation="EHPAD Les Glycines",
        legal_category="7364",
        street="8 chemin des Glycines",
        postal_code="69500",
        city="Bron",
        representative=(Civility.MRS, "Morel", "Sophie", "Directrice"),
    ),
    SampleEstablishment(
        siret="21971101700018",
        contract="FM971101",
        fund="FMIS",
        designation="Commune des Abymes",
        legal_category="7210",
        street="Rue Achille René-Boisneuf",
        postal_code="97139",
        city="Les Abymes",
        representative=(Civility.MR, "Lubeth", "Éric", "Maire"),
    ),
    SampleEstablishment(
        siret="21130055300016",
        contract="IR130055",
        fund="IRCANTEC",
        designation="Commune de Marseille",
        legal_category="7210",
        street="Quai du Port",
        postal_code="13002",
        city="Marseille",
        representative=(Civility.MR, "Payan", "Benoît", "Maire"),
        ceased=False,
    ),
)


def sample_directory() -> InMemoryDirectory:
    directory = InMemoryDirectory()
    for row in SAMPLE_ESTABLISHMENTS:
        siret = Siret.parse(row.siret)
        address = _address(row.street, row.postal_code, row.city)
        civility, last, first, title = row.representative
        directory.add(
            Establishment(
                siret=siret,
                designation=row.designation,
                legal_category=LegalCategory(row.legal_category),
                closed=row.closed,
                legal_unit_ceased=row.ceased,
                address=address,
            ),
            contracts=(
                (Contract(number=ContractNumber.parse(row.contract), fund=row.fund, siret=siret),)
                if row.contract
                else ()
            ),
            legal_representative=LegalRepresentative(
                civility=civility, last_name=last, first_name=first, title=title, address=address
            ),
        )
    return directory
