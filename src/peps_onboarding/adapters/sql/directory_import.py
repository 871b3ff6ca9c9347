"""Loads the directory (establishments, fund contracts, legal representatives) from a CSV.

The format is documented in ``docs/directory-import.md``: UTF-8 (a BOM is accepted),
``;``-separated, a header row naming the :data:`COLUMNS`, one row per (establishment,
contract). Every value goes through the domain's value objects (E1 SIRET keys, E2
contract numbers, postal codes, names…); a row that does not parse is reported with
its line number, its field and the French reason, and the import goes on.

The reading is strict and line by line: no cell of this format holds a line break, so
each physical line is one row, decoded on its own and split on its own. A line that is
not UTF-8, whose quotes do not close on it, or whose number of cells is not the
header's is one rejected line, with its number and a French reason; the next line is
read normally (the ``csv`` module would let an unclosed quote swallow every following
line into one cell). Every line is accounted for: header excluded, ``rows_read`` is
``rows_imported + rows_unchanged + rows_rejected``, and blank lines are counted apart.

The import is an upsert and idempotent: each batch first reads what the tables hold for
its keys, and a line whose establishment, contract and legal representative are already
stored as it gives them is *unchanged*: counted as such and not rewritten. A later file
updates an establishment's désignation, state, address and legal representative and
adds contracts. A contract number belongs to one SIRET (E2): a later line that gives it
to another SIRET, in the same file or a later one, moves it there, with its fund.
Nothing is ever deleted. Rows are written in batches, each batch in its own transaction,
with ``INSERT … ON CONFLICT DO UPDATE`` statements built with SQLAlchemy's SQLite or
PostgreSQL ``insert`` and compiled once; a crash part-way leaves whole batches, and
running the import again completes it.

Parsing is the cost that matters on a million rows. Values that repeat (legal
categories, funds, cities, postal codes, names…) are parsed once and memoised. The others
(SIRET, désignation, contract number, street) first get a cheap test that they are
already in the form the value object would return — a SIRET of 14 digits whose keys a
fast Luhn checks, a trimmed printable NFC line without forbidden characters… — which
agrees with the value object; every other form goes through the value object, which also
words the errors. A line without a quote is split with ``str.split``; one with a quote
goes through :func:`_split_quoted`. A line is read in one straight run over its columns;
one with a bad value or an incomplete group is read again the reference way, column by
column, to report every field at fault.
"""

from __future__ import annotations

import codecs
import operator
import sys
import time
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import IO, Any, Final

from attrs import frozen
from sqlalchemy import Engine, Table, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from ...domain.errors import FieldError, OnboardingError
from ...domain.values import (
    _CONTRACT,
    _FREE_TEXT_FORBIDDEN,
    _LA_POSTE_SIREN,
    _NAME,
    ADDRESS_LINE_MAX_LENGTH,
    CITY_MAX_LENGTH,
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
    """What an import did, every line of the file accounted for.

    Header excluded, each line is either blank (``blank_lines``: nothing but spaces,
    tabs and ``;``) or read (``rows_read``); each line read is imported (it changed
    the directory), unchanged (the directory already held it: not rewritten) or
    rejected. ``rejected`` lists every field at fault (several per row when several are
    wrong), up to :data:`MAX_REPORTED`; ``rows_rejected`` counts rows. A report whose
    counts do not add up cannot be built.
    """

    rows_read: int
    rows_imported: int
    rows_rejected: int
    rows_unchanged: int = 0
    blank_lines: int = 0
    rejected: tuple[RejectedRow, ...] = ()
    rejected_truncated: bool = False

    def __attrs_post_init__(self) -> None:
        counts = (self.rows_imported, self.rows_unchanged, self.rows_rejected, self.blank_lines)
        if min(counts) < 0 or self.rows_read != sum(counts[:3]):
            raise ValueError(
                f"the counts do not add up: {self.rows_read} read, {self.rows_imported} "
                f"imported, {self.rows_unchanged} unchanged, {self.rows_rejected} rejected"
            )

    @property
    def lines(self) -> int:
        """The lines of the file: the header, the blank lines and the rows read."""
        return 1 + self.blank_lines + self.rows_read

    @property
    def summary(self) -> str:
        """One French line: ``1 000 lignes lues : 990 importées, 8 inchangées, 2
        rejetées.``, and the blank lines skipped when there are any."""
        text = (
            f"{_thousands(self.rows_read)} lignes lues : {_thousands(self.rows_imported)} "
            f"importées, {_thousands(self.rows_unchanged)} inchangées, "
            f"{_thousands(self.rows_rejected)} rejetées"
        )
        if self.blank_lines:
            text += f" ({_thousands(self.blank_lines)} lignes vides ignorées)"
        return text + "."


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


# Rule C4: addresses as typed (the letter fits them to the postal standard's 38
# characters a line, domain.postal), with the form's caps.
_ADDRESS_LINE: Final = _text(ADDRESS_LINE_MAX_LENGTH, optional=True)
_CITY: Final = _text(CITY_MAX_LENGTH, optional=True)
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
    "ville": _CITY,
    "complement_adresse": _ADDRESS_LINE,
    "complement_identification": _ADDRESS_LINE,
    "lieu_dit": _ADDRESS_LINE,
    "rl_civilite": _optional(_civility),
    "rl_nom": _OPTIONAL_NAME,
    "rl_prenom": _OPTIONAL_NAME,
    "rl_qualite": _text(100, optional=True),
    "rl_voie": _ADDRESS_LINE,
    "rl_code_postal": _OPTIONAL_POSTAL_CODE,
    "rl_ville": _CITY,
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


# --- splitting one line -----------------------------------------------------------------

_QUOTE: Final = '"'
_BLANK: Final = " \t\r;"  # a line of nothing else holds no value: a blank line


class _MalformedLineError(Exception):
    """A line that is not one CSV row: what is wrong, and the cell (from 0) where."""

    def __init__(self, problem: str, cell: int) -> None:
        super().__init__(problem, cell)
        self.problem = problem
        self.cell = cell


_UNCLOSED: Final = "unclosed"
_AFTER_CLOSING: Final = "after_closing"
_INSIDE: Final = "inside"


def _split_quoted(line: str) -> list[str]:
    """The cells of one line holding a quote, by the standard CSV quoting with ``;``: a
    cell that starts with ``"`` ends at the next single ``"``, which the end of the line
    or ``;`` follows, and ``""`` inside it stands for one ``"``. No cell of the format
    holds a line break, so a quote still open at the end of the line is an error of this
    line alone, as is a ``"`` inside a cell that does not start with one. Raises
    :class:`_MalformedLineError`."""
    cells: list[str] = []
    end = len(line)
    start = 0
    while True:
        if start < end and line[start] == _QUOTE:
            parts = []
            position = start + 1
            while True:
                closing = line.find(_QUOTE, position)
                if closing < 0:
                    raise _MalformedLineError(_UNCLOSED, len(cells))
                parts.append(line[position:closing])
                if line.startswith(_QUOTE, closing + 1):  # "" stands for one "
                    parts.append(_QUOTE)
                    position = closing + 2
                    continue
                break
            cells.append("".join(parts))
            start = closing + 1
            if start == end:
                return cells
            if line[start] != ";":
                raise _MalformedLineError(_AFTER_CLOSING, len(cells) - 1)
            start += 1
        else:
            separator = line.find(";", start)
            cell = line[start:] if separator < 0 else line[start:separator]
            if _QUOTE in cell:
                raise _MalformedLineError(_INSIDE, len(cells))
            cells.append(cell)
            if separator < 0:
                return cells
            start = separator + 1


def _encoded(lines: Iterable[str]) -> Iterator[bytes]:
    """A text stream's lines as the bytes a file would hold, so that they are read as a
    file's are: bytes a ``surrogateescape`` stream could not decode come back as they
    were, and any other lone surrogate as bytes that are not UTF-8 either."""
    for line in lines:
        try:
            yield line.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            yield line.encode("utf-8", "surrogatepass")


# --- statements -------------------------------------------------------------------------

_LOOKUP_CHUNK: Final = 500  # keys per lookup, far below any driver's parameter limit
_LOOKUP_KEY: Final = "key_{}"


@frozen
class _Upsert:
    """An ``INSERT … ON CONFLICT DO UPDATE`` compiled once for the engine's dialect, and
    the lookup of the rows already stored under given keys."""

    sql: str
    keys: tuple[str, ...]
    positional: bool
    lookup: str
    lookup_keys: tuple[str, ...]
    key_position: int

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
            # Only rows whose values differ are rewritten, should another process have
            # written them since the lookup.
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
        # The upsert's conflict key (the contract's number alone, E2) is the lookup's,
        # with a fixed number of placeholders, compiled once too: an expanding IN would
        # be rendered again on every call.
        (looked_up,) = key
        names = tuple(_LOOKUP_KEY.format(i) for i in range(_LOOKUP_CHUNK))
        lookup = select(*table.columns).where(
            table.c[looked_up].in_([bindparam(name) for name in names])
        )
        found = lookup.compile(dialect=engine.dialect)
        if found.positional and tuple(found.positiontup or ()) != names:  # pragma: no cover
            raise RuntimeError("unexpected parameter order in the lookup")
        return cls(
            str(compiled), tuple(columns), positional, str(found), names, columns.index(looked_up)
        )

    def stored(self, connection: Any, keys: Collection[str]) -> dict[str, tuple[Any, ...]]:
        """The rows stored under ``keys``, by key, as tuples in the table's column order
        (the order the import builds its rows in). Booleans come as the driver gives
        them (``1`` / ``0`` on SQLite), which compare equal to ``True`` / ``False``."""
        found: dict[str, tuple[Any, ...]] = {}
        wanted = list(keys)
        position = self.key_position
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            chunk = wanted[start : start + _LOOKUP_CHUNK]
            chunk += chunk[-1:] * (_LOOKUP_CHUNK - len(chunk))  # the same key again
            parameters: Any = (
                tuple(chunk) if self.positional else dict(zip(self.lookup_keys, chunk, strict=True))
            )
            for row in connection.exec_driver_sql(self.lookup, parameters):
                found[row[position]] = tuple(row)
        return found

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
    engine: Engine, source: Path | IO[str] | IO[bytes], *, progress: bool | None = None
) -> ImportReport:
    """Loads a directory file into the directory tables (E1, E2, E4, M2).

    ``source`` is a path (read as UTF-8 bytes, BOM accepted), an open binary stream, or
    an open text stream. ``progress`` shows a one-line progress count on standard
    error; by default only when standard error is a terminal. Raises
    :class:`DirectoryFileError` when the file has no header or misses columns; a bad
    line never stops the import, and every line is accounted for in the report.
    """
    show = sys.stderr.isatty() if progress is None else progress
    if isinstance(source, Path):
        with source.open("rb") as stream:
            size = source.stat().st_size
            return _Importer(engine, show, stream, size).run()
    return _Importer(engine, show, source, None).run()


class _Importer:
    def __init__(
        self, engine: Engine, show: bool, stream: IO[str] | IO[bytes], size: int | None
    ) -> None:
        self.engine = engine
        self.show = show
        self.stream = stream
        self.size = size
        self.tables = (
            _Upsert.build(engine, establishments, ("siret",)),
            _Upsert.build(engine, contracts, ("number",)),
            _Upsert.build(engine, legal_representatives, ("siret",)),
        )
        # _write reads the keys at these positions.
        if tuple(t.key_position for t in self.tables) != (0, 1, 0):  # pragma: no cover
            raise RuntimeError("the directory tables' keys moved")
        self.rejected: list[RejectedRow] = []
        self.rows_rejected = self.rows_imported = self.rows_unchanged = 0
        self.started = time.monotonic()

    def run(self) -> ImportReport:
        lines = self._lines()
        names = self._header(next(lines, None))
        order = tuple(names.index(c) for c in COLUMNS)
        read = _row_reader(order)
        width = len(names)
        show = self.show
        batch: list[_Rows] = []
        rows_read = blank_lines = 0
        # Each line decoded and split on its own: a bad one costs that line alone.
        for number, raw in enumerate(lines, start=2):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                rows_read += 1
                self._reject(number, [(_LINE, _undecodable_reason(raw, error))])
            else:
                if not line.strip(_BLANK):
                    blank_lines += 1
                    continue
                rows_read += 1
                try:
                    cells = _split_quoted(line) if _QUOTE in line else line.split(";")
                except _MalformedLineError as malformed:
                    self._reject(number, [(_LINE, _malformed_reason(malformed, names))])
                else:
                    if len(cells) != width:
                        reason = f"La ligne a {len(cells)} colonnes au lieu de {width}."
                        self._reject(number, [(_LINE, reason)])
                    else:
                        try:
                            batch.append(read(cells))
                        except _RejectedLineError as rejected:
                            self._reject(number, rejected.errors)
                        else:
                            if len(batch) >= BATCH_SIZE:
                                self._write(batch)
            if show and rows_read % _PROGRESS_EVERY == 0:
                self._progress(rows_read)
        self._write(batch)
        if self.show:
            self._progress(rows_read, done=True)
        return ImportReport(
            rows_read=rows_read,
            rows_imported=self.rows_imported,
            rows_unchanged=self.rows_unchanged,
            rows_rejected=self.rows_rejected,
            blank_lines=blank_lines,
            rejected=tuple(self.rejected),
            rejected_truncated=len(self.rejected) >= MAX_REPORTED,
        )

    def _lines(self) -> Iterator[bytes]:
        """The file's lines as bytes, a BOM taken off the first."""
        stream: Any = self.stream
        first = stream.readline()
        if not first:
            return iter(())
        if isinstance(first, str):
            first, stream = next(_encoded((first,))), _encoded(stream)
        return chain((first.removeprefix(codecs.BOM_UTF8),), stream)

    def _header(self, raw: bytes | None) -> list[str]:
        if raw is None:
            raise DirectoryFileError("Le fichier est vide : la ligne d'en-tête manque.")
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise DirectoryFileError("La ligne d'en-tête n'est pas en UTF-8 valide.") from None
        try:
            header = _split_quoted(line) if _QUOTE in line else line.split(";")
        except _MalformedLineError:
            raise DirectoryFileError("La ligne d'en-tête n'est pas un CSV valide.") from None
        names = [cell.strip().casefold() for cell in header]
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise DirectoryFileError(
                "Colonnes manquantes dans la ligne d'en-tête : "
                + ", ".join(missing)
                + " (séparateur attendu : « ; »)."
            )
        return names

    def _reject(self, line: int, errors: Sequence[tuple[str, str]]) -> None:
        self.rows_rejected += 1
        room = MAX_REPORTED - len(self.rejected)
        if room > 0:
            self.rejected.extend(RejectedRow(line, f, r) for f, r in errors[:room])

    def _write(self, batch: list[_Rows]) -> None:
        """Writes a batch of good lines, in one transaction, and counts each line as
        imported or unchanged. Lines apply in their order, the last one naming a key
        winning (E2): a line is unchanged when every row it gives (establishment,
        contract, representative) is what the tables hold after the lines before it;
        only rows that end up different from what was stored are written."""
        if not batch:
            return
        est_table, contract_table, rep_table = self.tables
        with self.engine.begin() as connection:
            # Keys at the positions the tables' lookups use: a SIRET first, a number second.
            stored_establishments = est_table.stored(connection, {rows[0][0] for rows in batch})
            stored_contracts = contract_table.stored(
                connection, {c[1] for _, c, _ in batch if c is not None}
            )
            stored_representatives = rep_table.stored(
                connection, {r[0] for _, _, r in batch if r is not None}
            )
            found = dict(stored_establishments)
            held = dict(stored_contracts)
            represented = dict(stored_representatives)
            imported = 0
            for establishment, contract, representative in batch:
                changed = False
                siret = establishment[0]
                if found.get(siret) != establishment:
                    found[siret] = establishment
                    changed = True
                if contract is not None and held.get(contract[1]) != contract:
                    held[contract[1]] = contract
                    changed = True
                if representative is not None and represented.get(siret) != representative:
                    represented[siret] = representative
                    changed = True
                imported += changed
            # Establishments first: contracts and representatives refer to them.
            for table, now, was in (
                (est_table, found, stored_establishments),
                (contract_table, held, stored_contracts),
                (rep_table, represented, stored_representatives),
            ):
                if was:
                    table.run(connection, [row for key, row in now.items() if was.get(key) != row])
                else:  # nothing stored under these keys: every row is new
                    table.run(connection, list(now.values()))
        self.rows_imported += imported
        self.rows_unchanged += len(batch) - imported
        batch.clear()

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
        try:
            position = self.stream.tell()
        except (OSError, ValueError):
            return None
        return min(100, position * 100 // size)


def _undecodable_reason(raw: bytes, error: UnicodeDecodeError) -> str:
    return (
        f"Cette ligne n'est pas en UTF-8 valide (octet 0x{raw[error.start]:02X} en position "
        f"{error.start + 1}) : le fichier doit être enregistré en UTF-8."
    )


def _malformed_reason(error: _MalformedLineError, names: Sequence[str]) -> str:
    cell = f"la cellule {error.cell + 1}"
    if error.cell < len(names):
        cell += f" ({names[error.cell]})"
    if error.problem == _UNCLOSED:
        what = f"le guillemet qui ouvre {cell} n'est pas fermé sur la ligne"
    elif error.problem == _AFTER_CLOSING:
        what = f"après le guillemet qui ferme {cell}, « ; » ou la fin de la ligne est attendu"
    else:
        what = f"{cell} contient un guillemet sans être entre guillemets"
    return f"Ligne CSV invalide : {what}."


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
