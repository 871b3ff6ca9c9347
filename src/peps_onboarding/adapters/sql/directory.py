"""The directory on SQL: both :class:`~peps_onboarding.ports.EstablishmentRegistry` and
:class:`~peps_onboarding.ports.ContractDirectory`, read from the directory tables.

Step 1 of the classic path (C1, E2) does two key lookups per attempt, so they must be
cheap: each lookup is one indexed query whose SQL is built with SQLAlchemy Core and
compiled once for the engine's dialect, then run through the pooled driver connection.
No ORM, no per-call compilation, no result-type processing: the rows were validated by
the importer (:mod:`.directory_import`) and are trusted as they are.

Built on a :class:`~peps_onboarding.adapters.sql.stores.SqlDatabase` (the directory
tables live beside the stores), a lookup made while a unit of work of that database is
open on the same thread runs on that unit of work's connection: a use case then takes
one connection from the pool, not one per lookup (on PostgreSQL each checkout is also
a liveness ping, a round trip). Built on a bare ``Engine``, every lookup checks a
connection out of the pool and gives it back at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from attrs import frozen
from sqlalchemy import Engine, Select, String, bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

from ...domain.errors import DirectoryUnavailableError
from ...domain.establishment import Contract, Establishment, LegalRepresentative
from ...domain.values import (
    Civility,
    ContractNumber,
    LegalCategory,
    PostalAddress,
    PostalCode,
    Siret,
    TextLine,
)
from .directory_tables import contracts, establishments, legal_representatives
from .stores import SqlDatabase

__all__ = ["SqlDirectory"]

_log = logging.getLogger(__name__)

_ADDRESS: Final = (
    "street",
    "postal_code",
    "city",
    "address_complement",
    "identification_complement",
    "locality",
)
_CIVILITIES: Final[Mapping[str, Civility]] = {c.value: c for c in Civility}


@frozen
class _Prepared:
    """One statement compiled for one dialect, with its parameters' order."""

    sql: str
    names: tuple[str, ...]
    positional: bool
    constants: Mapping[str, Any]  # parameters fixed at compile time (``LIMIT 1``)

    @classmethod
    def compile(cls, statement: Select[Any], engine: Engine) -> _Prepared:
        compiled = statement.compile(dialect=engine.dialect)
        names = tuple(compiled.positiontup or ()) if compiled.positional else ()
        constants = {k: v for k, v in compiled.params.items() if v is not None}
        return cls(str(compiled), names, compiled.positional, constants)

    def parameters(self, values: Mapping[str, str]) -> Sequence[Any] | Mapping[str, Any]:
        if self.positional:
            constants = self.constants
            return tuple(values[name] if name in values else constants[name] for name in self.names)
        return {**self.constants, **values}


def _line(value: str | None) -> TextLine | None:
    return TextLine(value) if value else None


def _address(row: Sequence[Any]) -> PostalAddress | None:
    street, postal_code, city, complement, identification, locality = row
    if not (street and postal_code and city):
        return None
    return PostalAddress(
        street=TextLine(street),
        postal_code=PostalCode(postal_code),
        city=TextLine(city),
        address_complement=_line(complement),
        identification_complement=_line(identification),
        locality=_line(locality),
    )


class SqlDirectory:
    """Establishments, fund contracts and legal representatives from the directory tables.

    ``source`` is the :class:`~peps_onboarding.adapters.sql.stores.SqlDatabase` of the
    stores (lookups inside one of its units of work share its connection) or an
    ``Engine``. Thread-safe. A database error becomes
    :class:`~peps_onboarding.domain.errors.DirectoryUnavailableError` (the ports'
    contract: "cannot tell" is never "unknown SIRET").
    """

    def __init__(self, source: SqlDatabase | Engine) -> None:
        if isinstance(source, SqlDatabase):
            self._database: SqlDatabase | None = source
            engine = source.engine
        else:
            self._database = None
            engine = source
        self._engine = engine
        siret = bindparam("siret", type_=String())
        e, c, r = establishments.c, contracts.c, legal_representatives.c
        self._establishment = _Prepared.compile(
            select(
                e.designation,
                e.legal_category,
                e.closed,
                e.legal_unit_ceased,
                *(e[name] for name in _ADDRESS),
            ).where(e.siret == siret),
            engine,
        )
        self._contract = _Prepared.compile(
            select(c.fund).where(c.siret == siret, c.number == bindparam("number")),
            engine,
        )
        self._has_contract = _Prepared.compile(
            select(c.number).where(c.siret == siret).limit(1), engine
        )
        self._representative = _Prepared.compile(
            select(
                r.civility, r.last_name, r.first_name, r.title, *(r[name] for name in _ADDRESS)
            ).where(r.siret == siret),
            engine,
        )

    def _first(self, prepared: _Prepared, values: Mapping[str, str]) -> Sequence[Any] | None:
        uow = self._database.current_unit_of_work() if self._database is not None else None
        try:
            if uow is not None:
                # The unit of work owns the connection and gives it back when it ends.
                return _fetch_one(uow.driver_connection(), prepared, values)
            connection = self._engine.raw_connection()
            try:
                row = _fetch_one(connection, prepared, values)
            finally:
                connection.close()  # back to the pool (rolled back there)
        except DBAPIError as error:
            _log.warning("directory lookup failed: %s", error.__class__.__name__)
            raise DirectoryUnavailableError() from error
        except Exception as error:  # the driver's own errors, raised outside SQLAlchemy
            if _is_driver_error(error):
                _log.warning("directory lookup failed: %s", error.__class__.__name__)
                raise DirectoryUnavailableError() from error
            raise
        return row

    def establishment(self, siret: Siret) -> Establishment | None:
        """Rule N2: désignation, legal category, open/closed and address of a SIRET."""
        row = self._first(self._establishment, {"siret": siret.value})
        if row is None:
            return None
        return Establishment(
            siret=siret,
            designation=row[0],
            legal_category=LegalCategory(row[1]),
            closed=bool(row[2]),
            legal_unit_ceased=bool(row[3]),
            address=_address(row[4:]),
        )

    def contract(self, siret: Siret, number: ContractNumber) -> Contract | None:
        """Rule E2: the contract when this SIRET holds this number, else ``None``."""
        row = self._first(self._contract, {"siret": siret.value, "number": number.value})
        return None if row is None else Contract(number=number, fund=row[0], siret=siret)

    def has_contract(self, siret: Siret) -> bool:
        """Rule E4: whether the SIRET holds a contract with any fund."""
        return self._first(self._has_contract, {"siret": siret.value}) is not None

    def legal_representative(self, siret: Siret) -> LegalRepresentative | None:
        """Rule M2: who receives the letters, or ``None`` when the directory has nobody."""
        row = self._first(self._representative, {"siret": siret.value})
        if row is None:
            return None
        address = _address(row[4:])
        if address is None:  # the columns are NOT NULL: a row without one is not ours
            return None
        return LegalRepresentative(
            civility=_CIVILITIES.get(row[0]) if row[0] else None,
            last_name=row[1],
            first_name=row[2],
            title=row[3] or "",
            address=address,
        )


def _fetch_one(
    connection: PoolProxiedConnection, prepared: _Prepared, values: Mapping[str, str]
) -> Sequence[Any] | None:
    # A connection that died here is caught when it is next checked out (the
    # PostgreSQL engine pings it first); SQLite files do not disconnect.
    cursor = connection.cursor()
    try:
        cursor.execute(prepared.sql, prepared.parameters(values))
        row: Sequence[Any] | None = cursor.fetchone()
    finally:
        cursor.close()
    return row


def _is_driver_error(error: Exception) -> bool:
    """A PEP 249 ``DatabaseError`` / ``InterfaceError`` of any driver, without importing it."""
    return any(cls.__name__ in {"DatabaseError", "InterfaceError"} for cls in type(error).__mro__)
