"""Loads the directory (establishments, fund contracts, legal representatives) from a CSV.

The format is documented in ``docs/directory-import.md``: UTF-8 (a BOM is accepted),
``;``-separated, a header row naming the :data:`COLUMNS`, one row per (establishment,
contract). Every value goes through the domain's value objects (E1 SIRET keys, E2
contract numbers, postal codes, names…); a row that does not parse is reported with
its line number, its field and the French reason, and the import goes on.

The import is an upsert and idempotent: the same file twice changes nothing (rows whose
values did not change are not even rewritten); a later file updates an establishment's
désignation, state, address and legal representative and adds contracts. A contract
number belongs to one SIRET (E2): a later line that gives it to another SIRET, in the
same file or a later one, moves it there, with its fund. Nothing is ever deleted.
Rows are written in batches, each batch in its own transaction, with ``INSERT … ON
CONFLICT DO UPDATE`` statements built with SQLAlchemy's SQLite or PostgreSQL ``insert``
and compiled once; a crash part-way leaves whole batches, and running the import again
completes it.

Parsing is the cost that matters on a million rows. Values that repeat (legal
categories, funds, cities, postal codes, names…) are parsed once and memoised. The others
(SIRET, désignation, contract number, street) first get a cheap test that they are
already in the form the value object would return — a SIRET of 14 digits whose keys a
fast Luhn checks, a trimmed printable NFC line without forbidden characters… — which
agrees with the value object; every other form goes through the value object, which also
words the errors. A line is read in one straight run over its columns; one with a bad
value or an incomplete group is read again the reference way, column by column, to
report every field at fault.
"""

from __future__ import annotations

import csv
import operator
import sys
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from attrs import frozen
from sqlalchemy import Engine, Table, or_
from sqlalchemy.dialects import postgresql, sqlite

from ...domain.errors import FieldError, OnboardingError
from ...domain.values import (
    _CONTRACT,
    _FREE_TEXT_FORBIDDEN,
    _LA_POSTE_SIREN,
    _NAME,
    Civility,
    ContractNumber,
    InvalidFieldError,
    LegalCategory,
    PersonName,
    PostalCode,
    Siret,
    TextLine,
    _siret_keys_ok,
)
from .directory_tables import contracts, establishments, legal_representatives

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
_BAR_WIDTH: Final = 24
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

    @property
    def summary(self) -> str:
        """One French line: ``1 000 lignes lues, 998 importées, 2 rejetées.``"""
        return (
            f"{_thousands(self.rows_read)} lignes lues, {_thousands(self.rows_imported)} "
            f"importées, {_thousands(self.rows_rejected)} rejetées."
        )


# --- parsing one value ------------------------------------------------------------------
#
# Each parser returns what the domain's value object holds, or raises its
# InvalidFieldError. The hot ones first try a cheap test that the raw text is already in
# the form the value object would return unchanged; anything else goes through the value
# object, which also words the error. The tests check that the two agree.

_REQUIRED: Final = "Ce champ est obligatoire."


def _siret(raw: str) -> str:
    """Rule E1: a SIRET already in its canonical 14-digit form, keys right and not La
    Poste's, is what :meth:`Siret.parse` returns; anything else goes through it."""
    if (
        len(raw) == 14
        and raw.isascii()
        and raw.isdigit()
        and not raw.startswith(_LA_POSTE_SIREN)
        and raw != "00000000000000"
        and _siret_keys_ok(raw)
    ):
        return raw
    return Siret.parse(raw).value


def _is_clean(raw: str) -> bool:
    """Whether the domain's cleaning (NFC, trimmed, no control character, inner runs of
    spaces collapsed, required) returns ``raw`` unchanged. A printable string holds no
    whitespace but the ASCII space and none of the control characters the domain
    refuses, so trimming and collapsing come down to looking for spaces."""
    return (
        raw != ""
        and raw.isprintable()
        and raw[0] != " "
        and raw[-1] != " "
        and "  " not in raw
        and (raw.isascii() or unicodedata.is_normalized("NFC", raw))
    )


def _text(max_length: int, *, optional: bool = False) -> Callable[[str], str | None]:
    """:class:`TextLine` (and ``None`` for a blank optional value)."""

    def parse(raw: str) -> str | None:
        # The domain's own pattern, so that the two cannot drift apart.
        if len(raw) <= max_length and _is_clean(raw) and not _FREE_TEXT_FORBIDDEN.search(raw):
            return raw
        if optional and not raw.strip():
            return None
        return TextLine.parse(raw, max_length=max_length).value

    return parse


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_optional(raw: str) -> Any:
        return parse(raw) if raw.strip() else None

    return parse_optional


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
    if len(raw) <= 64 and _is_clean(raw) and _NAME.fullmatch(raw):
        return raw
    return PersonName.parse(raw).value


def _postal_code(raw: str) -> str:
    if len(raw) == 5 and raw.isascii() and raw.isdigit() and not raw.startswith("00"):
        return raw
    return PostalCode.parse(raw).value


def _contract(raw: str) -> str | None:
    """Rule E2 (``None`` for a blank value)."""
    # Capitals, digits, '/' and '-' only: nothing for the domain to trim, collapse or
    # capitalise, so the value is the raw text.
    if _CONTRACT.fullmatch(raw):
        return raw
    if not raw.strip():
        return None
    return ContractNumber.parse(raw).value


_ADDRESS_LINE: Final = _text(38, optional=True)  # the postal standard's 38 characters
_OPTIONAL_POSTAL_CODE: Final = _optional(_postal_code)
_OPTIONAL_NAME: Final = _optional(_name)

_PARSERS: Final[Mapping[str, Callable[[str], Any]]] = {
    "siret": _siret,
    "designation": _text(200),
    "categorie_juridique": _legal_category,
    "etat": _state,
    "unite_legale_cessee": _ceased,
    "numero_contrat": _contract,
    "fonds": _optional(_fund),
    "voie": _ADDRESS_LINE,
    "code_postal": _OPTIONAL_POSTAL_CODE,
    "ville": _ADDRESS_LINE,
    "complement_adresse": _ADDRESS_LINE,
    "complement_identification": _ADDRESS_LINE,
    "lieu_dit": _ADDRESS_LINE,
    "rl_civilite": _optional(_civility),
    "rl_nom": _OPTIONAL_NAME,
    "rl_prenom": _OPTIONAL_NAME,
    "rl_qualite": _text(100, optional=True),
    "rl_voie": _ADDRESS_LINE,
    "rl_code_postal": _OPTIONAL_POSTAL_CODE,
    "rl_ville": _ADDRESS_LINE,
}

# Groups of columns given together or not at all: (columns, French name of the group).
_ADDRESS_GROUP: Final = (7, 8, 9)  # voie, code_postal, ville
_CONTRACT_GROUP: Final = (5, 6)  # numero_contrat, fonds
_REPRESENTATIVE_GROUP: Final = (14, 15, 17, 18, 19)  # rl_nom, rl_prenom, rl_voie, cp, ville
_REPRESENTATIVE_ANY: Final = (13, 14, 15, 16, 17, 18, 19)
_ADDRESS_EXTRAS: Final = (10, 11, 12)


# --- reading one line -------------------------------------------------------------------

# Columns whose values repeat from line to line (categories, states, funds, cities,
# names…): each distinct value is parsed once per import. The others are mostly distinct
# and have their fast path in the parser itself.
_REPEATING: Final = frozenset(COLUMNS) - {
    "siret",
    "designation",
    "numero_contrat",
    "voie",
    "rl_voie",
}

_Row = tuple[Any, ...]
_Rows = tuple[_Row, _Row | None, _Row | None]
"""What one good line writes: its establishment, its contract, its legal representative."""


class _RejectedLineError(Exception):
    """A line that does not parse: every (column, French reason) at fault."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class _Memo(dict[str, Any]):
    """One parser's values by raw text; a miss parses. Failures are remembered too, and
    raised again as the parser raised them."""

    __slots__ = ("_failures", "_parse")

    def __init__(self, parse: Callable[[str], Any]) -> None:
        super().__init__()
        self._parse = parse
        self._failures: dict[str, FieldError] = {}

    def __missing__(self, raw: str) -> Any:
        failure = self._failures.get(raw)
        if failure is not None:
            raise InvalidFieldError(failure.code, failure.message)
        try:
            value = self._parse(raw)
        except InvalidFieldError as error:
            if len(self._failures) < _MEMO_LIMIT:
                self._failures[raw] = error.error
            raise
        if len(self) < _MEMO_LIMIT:
            self[raw] = value
        return value


def _read_slowly(raws: Sequence[str], parsers: Sequence[Callable[[str], Any]]) -> _Rows:
    """The reference reading of one line, its cells in :data:`COLUMNS` order: each
    through its parser, then the groups. Raises :class:`_RejectedLineError` with every field at
    fault, in column order (the groups only when every field parsed)."""
    values: list[Any] = []
    errors: list[tuple[str, str]] = []
    for name, parse, raw in zip(COLUMNS, parsers, raws, strict=True):
        try:
            values.append(parse(raw))
        except InvalidFieldError as error:
            errors.append((name, error.error.message))
            values.append(None)
    if not errors:
        errors = _groups(values)
    if errors:
        raise _RejectedLineError(errors)
    siret = values[0]
    # siret, designation, category, closed, ceased, then the six address columns
    establishment = (siret, *values[1:5], *values[7:13])
    contract = (siret, values[5], values[6]) if values[5] is not None else None
    representative = None
    if values[14] is not None:
        title = values[16] or ""
        representative = (siret, *values[13:16], title, *values[17:20], None, None, None)
    return establishment, contract, representative


def _row_reader(order: Sequence[int]) -> Callable[[Sequence[str]], _Rows]:
    """A reader of lines whose cells for :data:`COLUMNS` sit at ``order``, with its own
    memos (one import's worth). It gives what :func:`_read_slowly` gives, line for line,
    and hands it every line it cannot read straight through: a bad value, or a group to
    check (the tests check that the two agree)."""
    pick = operator.itemgetter(*order)
    # One memo per parser: a city is parsed once, be it the establishment's or the
    # representative's.
    memos: dict[Callable[[str], Any], _Memo] = {}
    for name in _REPEATING:
        memos.setdefault(_PARSERS[name], _Memo(_PARSERS[name]))
    parsers = tuple(
        memos[_PARSERS[name]].__getitem__ if name in _REPEATING else _PARSERS[name]
        for name in COLUMNS
    )

    def memo(name: str) -> _Memo:
        return memos[_PARSERS[name]]

    siret_of, designation_of = _PARSERS["siret"], _PARSERS["designation"]
    contract_of, street_of = _PARSERS["numero_contrat"], _PARSERS["voie"]
    categories, states, ceased_flags = (
        memo("categorie_juridique"),
        memo("etat"),
        memo("unite_legale_cessee"),
    )
    funds, postal_codes, cities = memo("fonds"), memo("code_postal"), memo("ville")
    complements, identifications, localities = (
        memo("complement_adresse"),
        memo("complement_identification"),
        memo("lieu_dit"),
    )
    civilities, last_names, first_names, titles = (
        memo("rl_civilite"),
        memo("rl_nom"),
        memo("rl_prenom"),
        memo("rl_qualite"),
    )
    rl_postal_codes, rl_cities = memo("rl_code_postal"), memo("rl_ville")
    # The representative's street often repeats the establishment's, and they share
    # their parser: the value is the same.
    if _PARSERS["rl_voie"] is not street_of:  # pragma: no cover - a guard for edits
        raise RuntimeError("voie and rl_voie no longer share their parser")

    def read(row: Sequence[str]) -> _Rows:
        # One straight run over the columns: a loop over them would cost as much as the
        # parsing itself.
        (
            r_siret,
            r_designation,
            r_category,
            r_state,
            r_ceased,
            r_contract,
            r_fund,
            r_street,
            r_postal_code,
            r_city,
            r_complement,
            r_identification,
            r_locality,
            r_civility,
            r_last_name,
            r_first_name,
            r_title,
            r_rl_street,
            r_rl_postal_code,
            r_rl_city,
        ) = pick(row)
        try:
            siret = siret_of(r_siret)
            designation = designation_of(r_designation)
            category = categories[r_category]
            closed = states[r_state]
            ceased = ceased_flags[r_ceased]
            number = contract_of(r_contract)
            fund = funds[r_fund]
            street = street_of(r_street)
            postal_code = postal_codes[r_postal_code]
            city = cities[r_city]
            complement = complements[r_complement]
            identification = identifications[r_identification]
            locality = localities[r_locality]
            civility = civilities[r_civility]
            last_name = last_names[r_last_name]
            first_name = first_names[r_first_name]
            title = titles[r_title]
            rl_street = street if r_rl_street == r_street else street_of(r_rl_street)
            rl_postal_code = rl_postal_codes[r_rl_postal_code]
            rl_city = rl_cities[r_rl_city]
        except InvalidFieldError:
            return _read_slowly(pick(row), parsers)
        # The common line has every group complete; _groups judges the others.
        if (
            (number is None) is not (fund is None)
            or None in (street, postal_code, city)
            or None in (last_name, first_name, rl_street, rl_postal_code, rl_city)
        ) and _groups(
            (
                siret,
                designation,
                category,
                closed,
                ceased,
                number,
                fund,
                street,
                postal_code,
                city,
                complement,
                identification,
                locality,
                civility,
                last_name,
                first_name,
                title,
                rl_street,
                rl_postal_code,
                rl_city,
            )
        ):
            return _read_slowly(pick(row), parsers)
        establishment = (
            siret,
            designation,
            category,
            closed,
            ceased,
            street,
            postal_code,
            city,
            complement,
            identification,
            locality,
        )
        contract = (siret, number, fund) if number is not None else None
        representative = None
        if last_name is not None:
            representative = (
                siret,
                civility,
                last_name,
                first_name,
                title or "",
                rl_street,
                rl_postal_code,
                rl_city,
                None,
                None,
                None,
            )
        return establishment, contract, representative

    return read


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
        self.contracts = _Upsert.build(engine, contracts, ("number",))
        self.representatives = _Upsert.build(engine, legal_representatives, ("siret",))
        self.rejected: list[RejectedRow] = []
        self.rows_rejected = 0
        self.started = time.monotonic()

    def run(self) -> ImportReport:
        reader = csv.reader(self.stream, delimiter=";")
        order = self._header(reader)
        read = _row_reader(order)
        width = max(order) + 1
        show = self.show
        batch_establishments: dict[str, tuple[Any, ...]] = {}
        batch_contracts: dict[str, tuple[Any, ...]] = {}
        batch_representatives: dict[str, tuple[Any, ...]] = {}
        rows_read = rows_imported = batch_rows = 0
        # A line the CSV reader cannot read is reported and reading goes on after it; the
        # ``for`` keeps the common path free of a call and a ``try`` per line.
        while True:
            try:
                for row in reader:
                    if len(row) < width:
                        if not row or (len(row) == 1 and not row[0].strip()):
                            continue  # a blank line
                        rows_read += 1
                        if show and rows_read % _PROGRESS_EVERY == 0:
                            self._progress(rows_read)
                        reason = f"La ligne a {len(row)} colonnes au lieu de {len(COLUMNS)}."
                        self._reject(reader.line_num, [(_LINE, reason)])
                        continue
                    rows_read += 1
                    if show and rows_read % _PROGRESS_EVERY == 0:
                        self._progress(rows_read)
                    try:
                        establishment, contract, representative = read(row)
                    except _RejectedLineError as rejected:
                        self._reject(reader.line_num, rejected.errors)
                        continue
                    siret = establishment[0]
                    batch_establishments[siret] = establishment
                    if contract is not None:
                        # Keyed by number alone: the last line naming a number wins (E2).
                        batch_contracts[contract[1]] = contract
                    if representative is not None:
                        batch_representatives[siret] = representative
                    rows_imported += 1
                    batch_rows += 1
                    if batch_rows >= BATCH_SIZE:
                        self._write(batch_establishments, batch_contracts, batch_representatives)
                        batch_rows = 0
            except csv.Error:
                rows_read += 1
                self._reject(reader.line_num, [(_LINE, "Cette ligne n'est pas un CSV valide.")])
                continue
            break
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
        batch_contracts: dict[str, tuple[Any, ...]],
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
        bar = ""
        percent = None
        if self.size:
            percent = 100 if done else self._percent_read(self.size)
        if percent is not None:
            filled = percent * _BAR_WIDTH // 100
            bar = f"[{'█' * filled}{'░' * (_BAR_WIDTH - filled)}] {percent:3d} % "
        elapsed = time.monotonic() - self.started
        text = (
            f"\rAnnuaire {bar}: {_thousands(rows)} lignes lues, "
            f"{_thousands(self.rows_rejected)} rejetées — {elapsed:.0f} s"
        )
        sys.stderr.write(text + ("\n" if done else ""))
        sys.stderr.flush()

    def _percent_read(self, size: int) -> int | None:
        """How far into the file of ``size`` bytes reading is, from the byte offset."""
        buffer = getattr(self.stream, "buffer", None)
        try:
            position = buffer.tell() if buffer is not None else None
        except (OSError, ValueError):
            return None
        return None if position is None else min(100, position * 100 // size)


def _thousands(count: int) -> str:
    """A count as French typography writes it: ``1 234 567`` with narrow spaces."""
    return f"{count:,}".replace(",", "\u202f")


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
