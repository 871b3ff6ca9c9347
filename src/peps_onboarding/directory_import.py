"""Loads the directory (establishments, fund contracts, legal representatives) from a CSV.

The format is documented in ``docs/directory-import.md``: UTF-8 (a BOM is accepted),
``;``-separated, a header row naming the :data:`COLUMNS`, one row per (establishment,
contract). Every value goes through the domain's value objects (E1 SIRET keys, E2
contract numbers, postal codes, names…); a row that does not parse is reported with
its line number, its field and the French reason, and the import goes on.

The import is an upsert and idempotent: the same file twice changes nothing (rows whose
values did not change are not even rewritten); a later file updates an establishment's
désignation, state, address and legal representative and adds contracts. Nothing is
ever deleted. Rows are written in batches, each batch in its own transaction, with
``INSERT … ON CONFLICT DO UPDATE`` statements built with SQLAlchemy's SQLite or
PostgreSQL ``insert`` and compiled once; a crash part-way leaves whole batches, and
running the import again completes it.

Parsing is the cost that matters on a million rows: values that repeat (legal
categories, funds, cities, postal codes, first names…) are parsed once and memoised,
and a SIRET already in its canonical 14-digit form has its keys checked by a fast Luhn
that agrees with :meth:`Siret.parse` (which still parses every other form, and words
the errors).
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from attrs import frozen
from sqlalchemy import Engine, Table, or_
from sqlalchemy.dialects import postgresql, sqlite

from .adapters.sql.directory_tables import contracts, establishments, legal_representatives
from .domain.errors import OnboardingError
from .domain.values import (
    Civility,
    ContractNumber,
    InvalidFieldError,
    LegalCategory,
    PersonName,
    PostalCode,
    Siret,
    TextLine,
)

__all__ = [
    "COLUMNS",
    "DirectoryFileError",
    "ImportReport",
    "RejectedRow",
    "import_directory",
]

COLUMNS: Final = (
    "siret",
    "designation",
    "categorie_juridique",
    "etat",
    "unite_legale_cessee",
    "numero_contrat",
    "fonds",
    "voie",
    "code_postal",
    "ville",
    "complement_adresse",
    "complement_identification",
    "lieu_dit",
    "rl_civilite",
    "rl_nom",
    "rl_prenom",
    "rl_qualite",
    "rl_voie",
    "rl_code_postal",
    "rl_ville",
)
"""The columns of the directory file, in the documented order (any order is read)."""

BATCH_SIZE: Final = 5_000
MAX_REPORTED: Final = 10_000  # rejected fields kept in the report; the counts stay exact
_MEMO_LIMIT: Final = 50_000  # distinct values memoised per column
_PROGRESS_EVERY: Final = 10_000
_LINE: Final = "ligne"


class DirectoryFileError(OnboardingError):
    """The file cannot be read as a directory file at all (no header, missing columns)."""

    code = "directory_import.file"
    message = "Ce fichier n'est pas un fichier d'annuaire valide."


@frozen
class RejectedRow:
    """One reason a row was not imported: its line in the file (the header is line 1),
    the column at fault (``ligne`` for the row as a whole) and the French reason."""

    line: int
    field: str
    reason: str


@frozen(kw_only=True)
class ImportReport:
    """What an import did. ``rejected`` lists every field at fault (several per row
    when several are wrong), up to :data:`MAX_REPORTED`; ``rows_rejected`` counts rows."""

    rows_read: int
    rows_imported: int
    rows_rejected: int
    rejected: tuple[RejectedRow, ...] = ()
    rejected_truncated: bool = False


# --- parsing one value ------------------------------------------------------------------


class _Bad:
    """A memoised parse failure: the French reason."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


_MISS: Final = object()
_REQUIRED: Final = "Ce champ est obligatoire."
# Luhn: a doubled digit's digit sum, as a one-character translation per digit.
_DOUBLED: Final = str.maketrans("0123456789", "0246813579")
_LA_POSTE: Final = "356000000"


def _luhn_ok(digits: str) -> bool:
    total = sum(map(int, digits[-1::-2])) + sum(map(int, digits[-2::-2].translate(_DOUBLED)))
    return total % 10 == 0


def _siret(raw: str) -> str:
    """Rule E1: the fast path agrees with :meth:`Siret.parse` on canonical input;
    anything else (spaces, dots, bad keys, La Poste) goes through ``Siret.parse``."""
    if (
        len(raw) == 14
        and raw.isascii()
        and raw.isdigit()
        and not raw.startswith(_LA_POSTE)
        and raw != "00000000000000"
        and _luhn_ok(raw)
        and _luhn_ok(raw[:9])
    ):
        return raw
    return Siret.parse(raw).value


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_optional(raw: str) -> Any:
        return parse(raw) if raw.strip() else None

    return parse_optional


def _line(max_length: int = 38) -> Callable[[str], str]:
    return lambda raw: TextLine.parse(raw, max_length=max_length).value


def _legal_category(raw: str) -> str:
    text = raw.strip()
    if not text:
        raise InvalidFieldError("required", _REQUIRED)
    return LegalCategory(text).code


_STATES: Final[Mapping[str, bool]] = {"a": False, "f": True}
_YES_NO: Final[Mapping[str, bool]] = {"oui": True, "o": True, "non": False, "n": False, "": False}


def _state(raw: str) -> bool:
    """« A » (actif) or « F » (fermé); ``True`` when closed (E4)."""
    closed = _STATES.get(raw.strip().casefold())
    if closed is None:
        raise InvalidFieldError(
            "directory.state", "L'état doit être « A » (actif) ou « F » (fermé)."
        )
    return closed


def _ceased(raw: str) -> bool:
    ceased = _YES_NO.get(raw.strip().casefold())
    if ceased is None:
        raise InvalidFieldError(
            "directory.ceased", "Ce champ doit valoir « oui » ou « non » (ou « O » / « N »)."
        )
    return ceased


def _fund(raw: str) -> str:
    return TextLine.parse(raw, max_length=30).value.upper()


_CIVILITY_ALIASES: Final[Mapping[str, str]] = {"m.": "Monsieur", "m": "Monsieur", "mme": "Madame"}


def _civility(raw: str) -> str:
    text = raw.strip()
    return Civility.parse(_CIVILITY_ALIASES.get(text.casefold(), text)).value


def _name(raw: str) -> str:
    return PersonName.parse(raw).value


def _postal_code(raw: str) -> str:
    return PostalCode.parse(raw).value


def _contract(raw: str) -> str:
    return ContractNumber.parse(raw).value


_PARSERS: Final[Mapping[str, Callable[[str], Any]]] = {
    "siret": _siret,
    "designation": _line(200),
    "categorie_juridique": _legal_category,
    "etat": _state,
    "unite_legale_cessee": _ceased,
    "numero_contrat": _optional(_contract),
    "fonds": _optional(_fund),
    "voie": _optional(_line()),
    "code_postal": _optional(_postal_code),
    "ville": _optional(_line()),
    "complement_adresse": _optional(_line()),
    "complement_identification": _optional(_line()),
    "lieu_dit": _optional(_line()),
    "rl_civilite": _optional(_civility),
    "rl_nom": _optional(_name),
    "rl_prenom": _optional(_name),
    "rl_qualite": _optional(_line(100)),
    "rl_voie": _optional(_line()),
    "rl_code_postal": _optional(_postal_code),
    "rl_ville": _optional(_line()),
}

# Groups of columns given together or not at all: (columns, French name of the group).
_ADDRESS_GROUP: Final = (7, 8, 9)  # voie, code_postal, ville
_CONTRACT_GROUP: Final = (5, 6)  # numero_contrat, fonds
_REPRESENTATIVE_GROUP: Final = (14, 15, 17, 18, 19)  # rl_nom, rl_prenom, rl_voie, cp, ville
_REPRESENTATIVE_ANY: Final = (13, 14, 15, 16, 17, 18, 19)
_ADDRESS_EXTRAS: Final = (10, 11, 12)


# --- statements -------------------------------------------------------------------------


@frozen
class _Upsert:
    """An ``INSERT … ON CONFLICT DO UPDATE`` compiled once for the engine's dialect."""

    sql: str
    keys: tuple[str, ...]
    positional: bool

    @classmethod
    def build(cls, engine: Engine, table: Table, key: Sequence[str]) -> _Upsert:
        dialect = engine.dialect.name
        insert: Any
        if dialect == "sqlite":
            insert = sqlite.insert
        elif dialect == "postgresql":
            insert = postgresql.insert
        else:  # pragma: no cover - the schema supports these two
            raise ValueError(f"the directory import supports SQLite and PostgreSQL, not {dialect}")
        columns = [c.name for c in table.columns]
        statement = insert(table)
        updated = [c for c in columns if c not in key]
        if updated:
            # Only rows whose values differ are rewritten: a re-import writes nothing.
            statement = statement.on_conflict_do_update(
                index_elements=list(key),
                set_={c: statement.excluded[c] for c in updated},
                where=or_(*(table.c[c].is_distinct_from(statement.excluded[c]) for c in updated)),
            )
        else:  # pragma: no cover - every directory table has non-key columns
            statement = statement.on_conflict_do_nothing(index_elements=list(key))
        compiled = statement.compile(dialect=engine.dialect, column_keys=columns)
        positional = bool(compiled.positional)
        keys = tuple(compiled.positiontup or ()) if positional else tuple(columns)
        if positional and keys != tuple(columns):  # pragma: no cover - a SQLAlchemy change
            raise RuntimeError(f"unexpected parameter order {keys}")
        return cls(str(compiled), tuple(columns), positional)

    def run(self, connection: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.positional:
            connection.exec_driver_sql(self.sql, list(rows))
        else:
            keys = self.keys
            connection.exec_driver_sql(
                self.sql, [dict(zip(keys, row, strict=True)) for row in rows]
            )


# --- the import -------------------------------------------------------------------------


def import_directory(
    engine: Engine, source: Path | TextIO, *, progress: bool | None = None
) -> ImportReport:
    """Loads a directory file into the directory tables (E1, E2, E4, M2).

    ``source`` is a path (opened as UTF-8, BOM accepted) or an open text stream.
    ``progress`` shows a one-line progress count on standard error; by default only
    when standard error is a terminal. Raises :class:`DirectoryFileError` when the file
    has no header or misses columns; a bad row never stops the import.
    """
    show = sys.stderr.isatty() if progress is None else progress
    if isinstance(source, Path):
        with source.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
            size = source.stat().st_size
            return _Importer(engine, show, stream, size).run()
    return _Importer(engine, show, source, None).run()


class _Importer:
    def __init__(self, engine: Engine, show: bool, stream: TextIO, size: int | None) -> None:
        self.engine = engine
        self.show = show
        self.stream = stream
        self.size = size
        self.establishments = _Upsert.build(engine, establishments, ("siret",))
        self.contracts = _Upsert.build(engine, contracts, ("siret", "number"))
        self.representatives = _Upsert.build(engine, legal_representatives, ("siret",))
        self.rejected: list[RejectedRow] = []
        self.rows_rejected = 0
        self.started = time.monotonic()

    def run(self) -> ImportReport:
        reader = csv.reader(self.stream, delimiter=";")
        order = self._header(reader)
        memos: list[dict[str, Any]] = [{} for _ in COLUMNS]
        spec = tuple(zip(order, COLUMNS, memos, (_PARSERS[name] for name in COLUMNS), strict=True))
        width = max(order) + 1
        batch_establishments: dict[str, tuple[Any, ...]] = {}
        batch_contracts: dict[tuple[str, str], tuple[Any, ...]] = {}
        batch_representatives: dict[str, tuple[Any, ...]] = {}
        rows_read = rows_imported = batch_rows = 0
        for line, row in _rows(reader):
            if row is None:
                rows_read += 1
                self._reject(line, [(_LINE, "Cette ligne n'est pas un CSV valide.")])
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            rows_read += 1
            if rows_read % _PROGRESS_EVERY == 0 and self.show:
                self._progress(rows_read)
            if len(row) < width:
                reason = f"La ligne a {len(row)} colonnes au lieu de {len(COLUMNS)}."
                self._reject(line, [(_LINE, reason)])
                continue
            values: list[Any] = []
            errors: list[tuple[str, str]] | None = None
            for index, name, memo, parse in spec:
                raw = row[index]
                value = memo.get(raw, _MISS)
                if value is _MISS:
                    try:
                        value = parse(raw)
                    except InvalidFieldError as error:
                        value = _Bad(error.error.message)
                    if len(memo) < _MEMO_LIMIT:
                        memo[raw] = value
                if value.__class__ is _Bad:
                    if errors is None:
                        errors = []
                    errors.append((name, value.reason))
                values.append(value)
            if errors is None:
                errors = _groups(values)
            if errors:
                self._reject(line, errors)
                continue
            siret = values[0]
            # siret, designation, category, closed, ceased, then the six address columns
            batch_establishments[siret] = (siret, *values[1:5], *values[7:13])
            if values[5] is not None:
                batch_contracts[(siret, values[5])] = (siret, values[5], values[6])
            if values[14] is not None:
                title = values[16] or ""
                rep = (siret, *values[13:16], title, *values[17:20], None, None, None)
                batch_representatives[siret] = rep
            rows_imported += 1
            batch_rows += 1
            if batch_rows >= BATCH_SIZE:
                self._write(batch_establishments, batch_contracts, batch_representatives)
                batch_rows = 0
        self._write(batch_establishments, batch_contracts, batch_representatives)
        if self.show:
            self._progress(rows_read, done=True)
        return ImportReport(
            rows_read=rows_read,
            rows_imported=rows_imported,
            rows_rejected=self.rows_rejected,
            rejected=tuple(self.rejected),
            rejected_truncated=len(self.rejected) >= MAX_REPORTED,
        )

    def _header(self, reader: Any) -> tuple[int, ...]:
        try:
            header = next(reader)
        except StopIteration:
            raise DirectoryFileError("Le fichier est vide : la ligne d'en-tête manque.") from None
        except csv.Error:
            raise DirectoryFileError("La ligne d'en-tête n'est pas un CSV valide.") from None
        names = [cell.strip().lstrip("\ufeff").strip().casefold() for cell in header]
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise DirectoryFileError(
                "Colonnes manquantes dans la ligne d'en-tête : "
                + ", ".join(missing)
                + " (séparateur attendu : « ; »)."
            )
        return tuple(names.index(c) for c in COLUMNS)

    def _reject(self, line: int, errors: Sequence[tuple[str, str]]) -> None:
        self.rows_rejected += 1
        room = MAX_REPORTED - len(self.rejected)
        if room > 0:
            self.rejected.extend(RejectedRow(line, f, r) for f, r in errors[:room])

    def _write(
        self,
        batch_establishments: dict[str, tuple[Any, ...]],
        batch_contracts: dict[tuple[str, str], tuple[Any, ...]],
        batch_representatives: dict[str, tuple[Any, ...]],
    ) -> None:
        if not batch_establishments:
            return
        # Establishments first: contracts and representatives refer to them.
        with self.engine.begin() as connection:
            self.establishments.run(connection, list(batch_establishments.values()))
            self.contracts.run(connection, list(batch_contracts.values()))
            self.representatives.run(connection, list(batch_representatives.values()))
        batch_establishments.clear()
        batch_contracts.clear()
        batch_representatives.clear()

    def _progress(self, rows: int, *, done: bool = False) -> None:
        share = ""
        if self.size and not done:
            buffer = getattr(self.stream, "buffer", None)
            try:
                position = buffer.tell() if buffer is not None else None
            except (OSError, ValueError):
                position = None
            if position is not None:
                share = f" ({min(100, position * 100 // self.size)} %)"
        elapsed = time.monotonic() - self.started
        text = (
            f"\rAnnuaire : {rows:,} lignes lues{share}, {self.rows_rejected:,} rejetées"
            f" — {elapsed:.0f} s"
        ).replace(",", "\u202f")
        sys.stderr.write(text + ("\n" if done else ""))
        sys.stderr.flush()


def _rows(reader: Any) -> Iterator[tuple[int, list[str] | None]]:
    """(line number, row) pairs; ``None`` for a line the CSV reader cannot read."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield reader.line_num, None
            continue
        yield reader.line_num, row


def _groups(values: Sequence[Any]) -> list[tuple[str, str]]:
    """Columns that go together: an address, a contract, a legal representative."""
    errors: list[tuple[str, str]] = []
    for group, needs in (
        (_CONTRACT_GROUP, _CONTRACT_GROUP),
        (_ADDRESS_GROUP + _ADDRESS_EXTRAS, _ADDRESS_GROUP),
        (_REPRESENTATIVE_ANY, _REPRESENTATIVE_GROUP),
    ):
        if any(values[i] is not None for i in group):
            errors.extend(
                (COLUMNS[i], "Ce champ est obligatoire quand les champs voisins sont remplis.")
                for i in needs
                if values[i] is None
            )
    return errors
