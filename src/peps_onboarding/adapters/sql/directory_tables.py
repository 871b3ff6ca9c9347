"""The directory's tables: establishments, fund contracts, legal representatives (E2, M2).

Filled by ``peps-onboarding directory import FILE.csv``; read by
:class:`~peps_onboarding.adapters.sql.directory.SqlDirectory`.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, PrimaryKeyConstraint, String, Table

# Rule C4: addresses as typed; the letter fits them to 38 characters, not the schema.
from ...domain.values import ADDRESS_LINE_MAX_LENGTH, CITY_MAX_LENGTH
from .metadata import metadata

__all__ = ["contracts", "establishments", "legal_representatives"]

establishments = Table(
    "directory_establishments",
    metadata,
    Column("siret", String(14), primary_key=True),
    Column("designation", String(200), nullable=False),
    Column("legal_category", String(4), nullable=False),
    Column("closed", Boolean, nullable=False, default=False),
    Column("legal_unit_ceased", Boolean, nullable=False, default=False),
    Column("street", String(ADDRESS_LINE_MAX_LENGTH)),
    Column("postal_code", String(5)),
    Column("city", String(CITY_MAX_LENGTH)),
    Column("address_complement", String(ADDRESS_LINE_MAX_LENGTH)),
    Column("identification_complement", String(ADDRESS_LINE_MAX_LENGTH)),
    Column("locality", String(ADDRESS_LINE_MAX_LENGTH)),
)

contracts = Table(
    "directory_contracts",
    metadata,
    Column("siret", String(14), ForeignKey("directory_establishments.siret"), nullable=False),
    Column("number", String(30), nullable=False),
    Column("fund", String(30), nullable=False),
    # The pair is the key step 1 looks up; the number alone is unique as E2 wants,
    # whatever process writes the table (revision 0003).
    PrimaryKeyConstraint("siret", "number"),
    Index("uq_directory_contracts_number", "number", unique=True),
)

legal_representatives = Table(
    "directory_legal_representatives",
    metadata,
    Column("siret", String(14), ForeignKey("directory_establishments.siret"), primary_key=True),
    Column("civility", String(8)),  # "Monsieur" | "Madame" | NULL
    Column("last_name", String(64), nullable=False),
    Column("first_name", String(64), nullable=False),
    Column("title", String(100), nullable=False, default=""),
    Column("street", String(ADDRESS_LINE_MAX_LENGTH), nullable=False),
    Column("postal_code", String(5), nullable=False),
    Column("city", String(CITY_MAX_LENGTH), nullable=False),
    Column("address_complement", String(ADDRESS_LINE_MAX_LENGTH)),
    Column("identification_complement", String(ADDRESS_LINE_MAX_LENGTH)),
    Column("locality", String(ADDRESS_LINE_MAX_LENGTH)),
)
