"""The directory import: the documented CSV, upserts, and a report of rejected rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, select
from stdnum.luhn import calc_check_digit

from peps_onboarding.adapters.sql.directory import SqlDirectory
from peps_onboarding.adapters.sql.directory_import import (
    _PARSERS,
    COLUMNS,
    DirectoryFileError,
    ImportReport,
    RejectedRow,
    _read_slowly,
    _RejectedLineError,
    _row_reader,
    _siret,
    import_directory,
)
from peps_onboarding.adapters.sql.directory_tables import (
    contracts,
    establishments,
    legal_representatives,
)
from peps_onboarding.adapters.sql.metadata import metadata
from peps_onboarding.domain.values import (
    ADDRESS_LINE_MAX_LENGTH,
    CITY_MAX_LENGTH,
    ContractNumber,
    InvalidFieldError,
    PersonName,
    PostalCode,
    Siret,
    TextLine,
)

COMMUNE = (
    "21330063500017;Commune de Saint-Aubin-de-Médoc;7210;A;non;FM330063;FMIS;"
    "6 place des Clémens;33160;Saint-Aubin-de-Médoc;;;;Madame;Lefèvre;Christine;Maire;"
    "6 place des Clémens;33160;Saint-Aubin-de-Médoc"
)
HOSPITAL = (
    "26330045100014;Centre hospitalier de Libourne;7364;A;N;FM330045;FMIS;"
    "112 rue de la Marne;33500;Libourne;;;;Monsieur;Garnier;Olivier;Directeur;"
    "112 rue de la Marne;33500;Libourne"
)


HEADER = (
    "siret;designation;categorie_juridique;etat;unite_legale_cessee;numero_contrat;fonds;"
    "voie;code_postal;ville;complement_adresse;complement_identification;lieu_dit;"
    "rl_civilite;rl_nom;rl_prenom;rl_qualite;rl_voie;rl_code_postal;rl_ville"
)


def write_csv(directory: Path, *rows: str, header: str = HEADER, bom: bool = False) -> Path:
    """A directory file with the documented header and these raw lines."""
    path = directory / "annuaire.csv"
    text = "\n".join((header, *rows)) + "\n"
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8", newline="")
    return path


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'directory.db'}")
    metadata.create_all(engine, tables=[establishments, contracts, legal_representatives])
    yield engine
    engine.dispose()


@pytest.fixture
def sample_csv() -> Iterator[Path]:
    resource = resources.files("peps_onboarding.data").joinpath("sample_directory.csv")
    with resources.as_file(resource) as path:
        yield path


def _tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(tuple(row) for row in connection.execute(select(table)))
            for table in (establishments, contracts, legal_representatives)
        }


def _reasons(report: ImportReport) -> dict[tuple[int, str], str]:
    return {(r.line, r.field): r.reason for r in report.rejected}


@pytest.mark.rule("E1", "E2", "M2")
def test_the_shipped_sample_imports_without_rejection(engine: Engine, sample_csv: Path) -> None:
    """The sample file: every row read and imported, nothing rejected."""
    report = import_directory(engine, sample_csv, progress=False)
    assert report.rows_read == report.rows_imported == 35
    assert (report.rows_rejected, report.rejected) == (0, ())
    tables = _tables(engine)
    assert len(tables["directory_establishments"]) == 33
    assert len(tables["directory_contracts"]) == 33
    assert len(tables["directory_legal_representatives"]) == 32


def test_importing_the_same_file_twice_changes_nothing(engine: Engine, sample_csv: Path) -> None:
    """Idempotent: the second import leaves every table exactly as the first did, and
    reports every row unchanged."""
    first = import_directory(engine, sample_csv, progress=False)
    before = _tables(engine)
    second = import_directory(engine, sample_csv, progress=False)
    assert (first.rows_imported, first.rows_unchanged) == (35, 0)
    assert (second.rows_read, second.rows_imported, second.rows_unchanged) == (35, 0, 35)
    assert _tables(engine) == before


@pytest.mark.rule("E2", "E4", "M2")
def test_a_later_file_updates_and_adds_contracts(engine: Engine, tmp_path: Path) -> None:
    """Re-import: désignation, state and representative change; contracts are added, kept."""
    import_directory(engine, write_csv(tmp_path, COMMUNE), progress=False)
    later = (
        "21330063500017;Commune nouvelle de Saint-Aubin;7210;F;non;CN330063;cnracl;"
        "6 place des Clémens;33160;Saint-Aubin-de-Médoc;;;;M.;Durand;Paul;Maire;"
        "Hôtel de ville;33160;Saint-Aubin-de-Médoc"
    )
    report = import_directory(engine, write_csv(tmp_path, later), progress=False)
    assert report.rows_imported == 1
    directory = SqlDirectory(engine)
    siret = Siret.parse("21330063500017")
    establishment = directory.establishment(siret)
    assert establishment is not None
    assert establishment.designation == "Commune nouvelle de Saint-Aubin"
    assert establishment.closed
    for number, fund in (("FM330063", "FMIS"), ("CN330063", "CNRACL")):
        contract = directory.contract(siret, ContractNumber.parse(number))
        assert contract is not None and contract.fund == fund
    representative = directory.legal_representative(siret)
    assert representative is not None
    assert representative.display_name == "Monsieur Paul Durand"
    assert str(representative.address.street) == "Hôtel de ville"


@pytest.mark.rule("M2")
def test_an_empty_representative_keeps_the_known_one(engine: Engine, tmp_path: Path) -> None:
    """Empty rl_ columns mean "not given": the representative already known stays."""
    import_directory(engine, write_csv(tmp_path, COMMUNE), progress=False)
    without = ";".join(COMMUNE.split(";")[:13] + [""] * 7)
    report = import_directory(engine, write_csv(tmp_path, without), progress=False)
    assert (report.rows_imported, report.rows_unchanged) == (0, 1)
    representative = SqlDirectory(engine).legal_representative(Siret.parse("21330063500017"))
    assert representative is not None and representative.last_name == "Lefèvre"


@pytest.mark.rule("E1", "E2", "E4")
def test_bad_rows_are_reported_and_the_import_goes_on(engine: Engine, tmp_path: Path) -> None:
    """Each bad row is reported (line, field, French reason); the good rows are imported."""
    good = COMMUNE.split(";")

    def row(**changes: str) -> str:
        columns = HEADER.split(";")
        cells = list(good)
        for name, value in changes.items():
            cells[columns.index(name)] = value
        return ";".join(cells)

    path = write_csv(
        tmp_path,
        row(siret="21330063500018"),  # line 2: wrong Luhn key (E1)
        row(categorie_juridique="72A0"),  # line 3
        row(code_postal="3316"),  # line 4
        row(etat="X"),  # line 5
        "21330063500017;Commune;7210;A",  # line 6: too few columns
        row(designation="<script>alert(1)</script>"),  # line 7: markup
        row(ville="Saint-Aubin\x07"),  # line 8: a control character
        row(numero_contrat="FM330063", fonds=""),  # line 9: a contract without its fund
        HOSPITAL,  # line 10: good
        row(siret="12", rl_nom="L3f3vre"),  # line 11: two fields at once
        COMMUNE,  # line 12: good
    )
    report = import_directory(engine, path, progress=False)
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (11, 2, 9)
    reasons = _reasons(report)
    assert set(reasons) == {
        (2, "siret"),
        (3, "categorie_juridique"),
        (4, "code_postal"),
        (5, "etat"),
        (6, "ligne"),
        (7, "designation"),
        (8, "ville"),
        (9, "fonds"),
        (11, "siret"),
        (11, "rl_nom"),
    }
    assert reasons[(2, "siret")] == "Ce numéro SIRET n'est pas valide."
    assert reasons[(3, "categorie_juridique")] == "La catégorie juridique a 4 chiffres."
    assert reasons[(4, "code_postal")] == "Le code postal doit comporter 5 chiffres."
    assert reasons[(5, "etat")] == "L'état doit être « A » (actif) ou « F » (fermé)."
    assert reasons[(6, "ligne")] == "La ligne a 4 colonnes au lieu de 20."
    assert reasons[(7, "designation")] == "Ce champ contient des caractères non autorisés."
    assert reasons[(8, "ville")] == "Ce champ contient des caractères non autorisés."
    assert reasons[(11, "siret")] == "Le SIRET doit être composé de 14 chiffres."
    directory = SqlDirectory(engine)
    assert directory.has_contract(Siret.parse("26330045100014"))
    imported = directory.establishment(Siret.parse("21330063500017"))
    assert imported is not None and imported.designation == "Commune de Saint-Aubin-de-Médoc"


def test_a_file_with_a_bom_and_crlf_lines_imports(engine: Engine, tmp_path: Path) -> None:
    """A spreadsheet export: BOM before the header, CRLF line ends, quoted cells."""
    path = tmp_path / "export.csv"
    quoted = COMMUNE.replace("Commune de Saint-Aubin-de-Médoc", '"Commune de Saint-Aubin-de-Médoc"')
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + quoted + "\r\n").encode("utf-8"))
    report = import_directory(engine, path, progress=False)
    assert (report.rows_imported, report.rows_rejected) == (1, 0)


def test_a_header_only_file_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    """Header only (and blank lines): nothing read, nothing written, no error; the
    blank lines are counted as such."""
    report = import_directory(engine, write_csv(tmp_path, "", " ", ";;"), progress=False)
    assert report == ImportReport(rows_read=0, rows_imported=0, rows_rejected=0, blank_lines=3)
    assert report.lines == 4


def test_an_empty_file_or_a_wrong_header_is_refused(engine: Engine, tmp_path: Path) -> None:
    """No header, or a header missing columns (e.g. a comma-separated file): an error."""
    empty = tmp_path / "vide.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DirectoryFileError, match="en-tête"):
        import_directory(engine, empty, progress=False)
    with pytest.raises(DirectoryFileError, match="Colonnes manquantes"):
        import_directory(
            engine, write_csv(tmp_path, header=HEADER.replace(";", ",")), progress=False
        )


def test_a_text_stream_with_columns_in_another_order_imports(engine: Engine) -> None:
    """A text stream works too; columns are found by their header names."""
    columns = HEADER.split(";")
    cells = COMMUNE.split(";")
    stream = io.StringIO(";".join(reversed(columns)) + "\n" + ";".join(reversed(cells)) + "\n")
    report = import_directory(engine, stream, progress=False)
    assert report.rows_imported == 1
    assert SqlDirectory(engine).has_contract(Siret.parse("21330063500017"))


def test_invalid_utf8_rejects_the_row_not_the_file(engine: Engine, tmp_path: Path) -> None:
    """A byte that is not UTF-8 (a Latin-1 export) rejects its row; the rest imports."""
    path = tmp_path / "latin1.csv"
    bad = HOSPITAL.replace("Libourne", "Libourn\xe9").encode("latin-1")
    path.write_bytes(HEADER.encode() + b"\n" + bad + b"\n" + COMMUNE.encode() + b"\n")
    report = import_directory(engine, path, progress=False)
    assert (report.rows_imported, report.rows_rejected) == (1, 1)
    assert report.rejected[0].line == 2


def test_progress_is_shown_only_when_asked(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """progress=True writes a carriage-return line to stderr; progress=False writes nothing."""
    path = write_csv(tmp_path, COMMUNE)
    import_directory(engine, path, progress=False)
    assert capsys.readouterr().err == ""
    import_directory(engine, path, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("\rAnnuaire [" + "█" * 24 + "] 100 % : 1 lignes lues, 0 rejetées")
    assert err.endswith("\n")


def test_the_progress_bar_fills_as_the_file_is_read(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file shows a bar and a share of its bytes read; a stream, whose size is unknown,
    shows the counts only."""
    path = tmp_path / "annuaire.csv"
    path.write_text(
        "\n".join([HEADER] + [_line_for(i) for i in range(4_000)]) + "\n", encoding="utf-8"
    )
    with patch("peps_onboarding.adapters.sql.directory_import._PROGRESS_EVERY", 500):
        import_directory(engine, path, progress=True)
        lines = capsys.readouterr().err.split("\r")[1:]
        import_directory(engine, io.StringIO(path.read_text(encoding="utf-8")), progress=True)
        streamed = capsys.readouterr().err.split("\r")[1:]
    shares = [int(line.split("] ")[1].split(" %")[0]) for line in lines]
    assert len(shares) == 9 and shares == sorted(shares) and shares[0] < 50
    assert shares[-1] == 100 and lines[-1].endswith("\n")
    filled = [line.count("█") for line in lines]
    assert filled == sorted(filled) and filled[0] < 12 and filled[-1] == 24
    assert len(streamed) == 9 and all("█" not in line and "%" not in line for line in streamed)
    assert streamed[3].startswith("Annuaire : 2\u202f000 lignes lues, 0 rejetées")


def _siret_number(i: int) -> str:
    """A valid SIRET (Luhn keys on the SIREN and the SIRET) for a number below 10**7."""
    siren8 = f"2{i:07d}"
    siren = siren8 + calc_check_digit(siren8)
    body = siren + "0001"
    return body + calc_check_digit(body)


def _line_for(i: int) -> str:
    """Line ``i`` of a generated directory: a commune with one FMIS contract."""
    return (
        f"{_siret_number(i)};Commune numéro {i};7210;A;non;FM{i:06d};FMIS;{i % 90 + 1} rue Haute;"
        f"{33000 + i % 900:05d};Ville {i % 900};;;;Madame;Martin;Claire;Maire;"
        f"{i % 90 + 1} rue Haute;{33000 + i % 900:05d};Ville {i % 900}"
    )


@pytest.mark.rule("E1")
def test_ten_thousand_rows_import_across_batches(engine: Engine, tmp_path: Path) -> None:
    """A generated 10,000-row file, two full batches: every row lands once.
    (Its speed is measured by ``bench/stores.py``, not here.)"""
    path = write_csv(tmp_path, *(_line_for(i) for i in range(10_000)))
    report = import_directory(engine, path, progress=False)
    assert (report.rows_imported, report.rows_rejected) == (10_000, 0)
    tables = _tables(engine)
    assert len(tables["directory_contracts"]) == len(tables["directory_establishments"]) == 10_000


def test_the_summary_writes_counts_the_french_way() -> None:
    """Thousands apart with narrow no-break spaces, as the progress bar writes them; the
    blank lines are named when there are any."""
    report = ImportReport(
        rows_read=1_234_567, rows_imported=1_234_000, rows_unchanged=560, rows_rejected=7
    )
    assert report.summary == (
        "1\u202f234\u202f567 lignes lues : 1\u202f234\u202f000 importées, 560 inchangées, "
        "7 rejetées."
    )
    blank = ImportReport(rows_read=2, rows_imported=2, rows_rejected=0, blank_lines=1)
    assert blank.summary == (
        "2 lignes lues : 2 importées, 0 inchangées, 0 rejetées (1 lignes vides ignorées)."
    )


def test_a_report_whose_counts_do_not_add_up_cannot_be_built() -> None:
    """read = imported + unchanged + rejected, always: a report that loses a line is
    refused at construction."""
    with pytest.raises(ValueError, match="do not add up"):
        ImportReport(rows_read=5_000, rows_imported=4_302, rows_rejected=1)
    with pytest.raises(ValueError, match="do not add up"):
        ImportReport(rows_read=1, rows_imported=2, rows_unchanged=-1, rows_rejected=0)


def test_rejected_rows_are_frozen_values() -> None:
    """RejectedRow is a small immutable value: line, field, reason."""
    rejected = RejectedRow(3, "siret", "Ce numéro SIRET n'est pas valide.")
    assert rejected == RejectedRow(line=3, field="siret", reason=rejected.reason)
    with pytest.raises(AttributeError):
        rejected.line = 4  # type: ignore[misc]


@pytest.mark.rule("E1")
@given(
    st.text(alphabet="0123456789", min_size=14, max_size=14)
    | st.integers(0, 9_999_999).map(_siret_number)
    | st.sampled_from(["35600000000048", "35600000012345", "00000000000000", "73282932000074 "])
)
def test_the_fast_siret_check_agrees_with_siret_parse(raw: str) -> None:
    """The importer's fast Luhn path accepts exactly what Siret.parse accepts."""
    try:
        expected: str | None = Siret.parse(raw).value
    except InvalidFieldError:
        expected = None
    try:
        actual: str | None = _siret(raw)
    except InvalidFieldError:
        actual = None
    assert actual == expected


def test_a_cell_beyond_the_csv_modules_size_limit_is_rejected_by_its_length(
    engine: Engine,
) -> None:
    """A huge cell (beyond what the ``csv`` module reads): its line is rejected for the
    column's length, the next line imports."""
    huge = COMMUNE.replace("Commune de Saint-Aubin-de-Médoc", "x" * (csv.field_size_limit() + 1))
    stream = io.StringIO("\n".join((HEADER, huge, HOSPITAL)) + "\n")
    report = import_directory(engine, stream, progress=False)
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (2, 1, 1)
    assert [(r.line, r.field) for r in report.rejected] == [(2, "designation")]
    assert SqlDirectory(engine).has_contract(Siret.parse("26330045100014"))


@pytest.mark.rule("E1")
def test_a_bad_value_repeated_on_several_lines_is_reported_on_each(
    engine: Engine, tmp_path: Path
) -> None:
    """A value parsed once for the whole file: its rejection still shows on every line."""
    cells = COMMUNE.split(";")
    bad = ";".join([*cells[:8], "3316", *cells[9:]])
    report = import_directory(engine, write_csv(tmp_path, bad, COMMUNE, bad), progress=False)
    assert (report.rows_imported, report.rows_rejected) == (1, 2)
    assert report.rejected == tuple(
        RejectedRow(line, "code_postal", "Le code postal doit comporter 5 chiffres.")
        for line in (2, 4)
    )


# --- the fast paths agree with the value objects and with the reference reading -----------

# Characters on either side of every fast-path test: accents composed and not, spaces of
# every kind, markup, controls, a lone surrogate (an undecodable byte), letters and digits.
_TRICKY = "aAzZéÉe\u0301Œ’'-./ 0123456789<@;*\t\n\x07\x85\xa0\u2007\u200b\u2028\ufeff\udce9"
_TEXT = (
    st.text(alphabet=_TRICKY, max_size=40)
    | st.text(max_size=40)
    # around each length limit: 38, 64, 100, 200
    | st.text(alphabet="ab-", min_size=35, max_size=105)
    | st.text(alphabet="ab -", min_size=195, max_size=205)
)


def _outcome(parse: Callable[[str], Any], raw: str) -> tuple[str, Any]:
    try:
        return ("value", parse(raw))
    except InvalidFieldError as error:
        return ("rejected", error.error.message)


def _blank_or(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda raw: None if not raw.strip() else parse(raw)


# Each parser with a shortcut beside what the value object alone makes of the same text
# (the other columns share one of these parsers, or have no shortcut).
_REFERENCES: dict[str, Callable[[str], Any]] = {
    "designation": lambda raw: TextLine.parse(raw, max_length=200).value,
    # Rule C4: addresses as typed, with the form's caps (the letter fits them to 38).
    "voie": _blank_or(lambda raw: TextLine.parse(raw, max_length=ADDRESS_LINE_MAX_LENGTH).value),
    "ville": _blank_or(lambda raw: TextLine.parse(raw, max_length=CITY_MAX_LENGTH).value),
    "rl_qualite": _blank_or(lambda raw: TextLine.parse(raw, max_length=100).value),
    "rl_nom": _blank_or(lambda raw: PersonName.parse(raw).value),
    "code_postal": _blank_or(lambda raw: PostalCode.parse(raw).value),
    "numero_contrat": _blank_or(lambda raw: ContractNumber.parse(raw).value),
}
_CANONICAL = st.sampled_from(
    [
        *("Commune de Saint-Aubin-de-Médoc", "Lefèvre", "O'Neil", "33160", "00160", "FM330063"),
        *("Saint-Aubin-de-Me\u0301doc", "Lefe\u0300vre", "b" * 38, "b" * 39, "b" * 201),
        *("Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson", "b" * 60, "b" * 61),
        *("b" * 100, "b" * 101),
    ]
)


@pytest.mark.rule("E2", "M2")
@pytest.mark.parametrize("column", sorted(_REFERENCES))
@given(raw=_TEXT | _CANONICAL)
def test_the_fast_parsers_agree_with_the_value_objects(column: str, raw: str) -> None:
    """Each importer parser's shortcut accepts, and rewrites, exactly as the value object."""
    assert _outcome(_PARSERS[column], raw) == _outcome(_REFERENCES[column], raw)


_GOOD = (COMMUNE.split(";"), HOSPITAL.split(";"))
_CELLS = (
    st.sampled_from(sorted({cell for row in _GOOD for cell in row}))
    | st.sampled_from(["", " ", "a", "f", "oui", "O", "M.", "mme", "fm 330063", " 33160"])
    | _CANONICAL
    | st.sampled_from(["213 300 635 00017", "21330063500018", "35600000000048", "72A0", "3316"])
    | _TEXT
)


@st.composite
def _lines(draw: st.DrawFn) -> list[str]:
    """A good line, sometimes with a group or a few cells left empty; half of the time a
    few cells changed besides (most often to a bad value)."""
    cells = list(draw(st.sampled_from(_GOOD)))
    columns = st.sampled_from(range(len(COLUMNS)))
    for group in draw(st.sets(st.sampled_from([(5, 6), (7, 8, 9), (13, 14, 15, 16, 17, 18, 19)]))):
        for index in group:
            cells[index] = ""
    for index in draw(st.sets(columns, max_size=3)):
        cells[index] = ""
    if draw(st.booleans()):
        for index, cell in draw(st.lists(st.tuples(columns, _CELLS), min_size=1, max_size=3)):
            cells[index] = cell
    return cells


def _read(read: Callable[[list[str]], Any], row: list[str]) -> tuple[str, Any]:
    try:
        return ("imported", read(row))
    except _RejectedLineError as rejected:
        return ("rejected", rejected.errors)


@pytest.mark.rule("E1", "E2", "M2")
@given(lines=st.lists(_lines(), min_size=1, max_size=8), order=st.permutations(range(22)))
def test_a_line_reads_the_same_fast_and_slowly(lines: list[list[str]], order: list[int]) -> None:
    """The straight run over a line, with its memos, gives what the reference reading
    gives (column by column through the parsers, then the groups): the same rows, or
    the same fields at fault with the same reasons, line after line."""
    positions = order[: len(COLUMNS)]
    read = _row_reader(positions)
    slowly = partial(_read_slowly, parsers=[_PARSERS[name] for name in COLUMNS])
    for cells in lines:
        row = ["ignored"] * len(order)
        for position, cell in zip(positions, cells, strict=True):
            row[position] = cell
        assert _read(read, row) == _read(slowly, cells)


@pytest.mark.rule("E2", "M2")
@pytest.mark.parametrize("good", _GOOD, ids=["commune", "hospital"])
@pytest.mark.parametrize("column", COLUMNS)
def test_a_line_with_one_cell_left_empty_reads_the_same_fast_and_slowly(
    good: list[str], column: str
) -> None:
    """Each cell left empty in turn (a required one, one of a group, an optional one):
    the straight run over the line and the reference reading agree."""
    cells = list(good)
    cells[COLUMNS.index(column)] = ""
    read = _row_reader(range(len(COLUMNS)))
    slowly = partial(_read_slowly, parsers=[_PARSERS[name] for name in COLUMNS])
    assert _read(read, cells) == _read(slowly, cells)


_CLINIC = "55210055400401;Clinique des Tilleuls SAS;5710;A;non;FM552100;FMIS;;;;;;;;;;;;;"
_HOLDERS = (COMMUNE.split(";"), HOSPITAL.split(";"), _CLINIC.split(";"))


@pytest.mark.rule("E2")
@given(
    files=st.lists(
        st.lists(
            st.tuples(st.sampled_from(range(len(_HOLDERS))), st.sampled_from(["A1", "B2", "c3"])),
            min_size=1,
            max_size=6,
        ),
        min_size=1,
        max_size=3,
    ),
    batch=st.integers(min_value=1, max_value=4),
)
def test_each_number_belongs_to_the_siret_of_the_last_line_naming_it(
    files: list[list[tuple[int, str]]], batch: int
) -> None:
    """Whatever the files, their order and the batch size, a number ends up held by one
    SIRET only: the one of the last line that names it (E2)."""
    engine = create_engine("sqlite://")
    metadata.create_all(engine, tables=[establishments, contracts, legal_representatives])
    expected: dict[str, str] = {}
    try:
        with patch("peps_onboarding.adapters.sql.directory_import.BATCH_SIZE", batch):
            for lines in files:
                rows = []
                for index, number in lines:
                    cells = list(_HOLDERS[index])
                    cells[5] = number
                    rows.append(";".join(cells))
                    expected[number.upper()] = cells[0]
                text = io.StringIO("\n".join((HEADER, *rows)) + "\n")
                assert import_directory(engine, text, progress=False).rows_rejected == 0
        held = {number: siret for siret, number, _ in _tables(engine)["directory_contracts"]}
        assert held == expected
        directory = SqlDirectory(engine)
        for cells in _HOLDERS:
            siret = Siret.parse(cells[0])
            assert directory.has_contract(siret) == (cells[0] in expected.values())
    finally:
        engine.dispose()
