"""The strict reading of the directory file: every line accounted for.

A line that is not a CSV row (a stray quote, a wrong number of cells, bytes that are
not UTF-8) is one rejected line, with its number and a French reason, and the next
line is read normally; a line the directory already holds is unchanged, and is not
rewritten. The report's counts always add up to the file's lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Literal
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, func, select, text
from stdnum.luhn import calc_check_digit

from peps_onboarding.adapters.sql.directory import SqlDirectory
from peps_onboarding.adapters.sql.directory_import import (
    COLUMNS,
    DirectoryFileError,
    ImportReport,
    RejectedRow,
    _MalformedLineError,
    _split_quoted,
    import_directory,
)
from peps_onboarding.adapters.sql.directory_tables import (
    contracts,
    establishments,
    legal_representatives,
)
from peps_onboarding.adapters.sql.metadata import metadata
from peps_onboarding.domain.values import Siret

HEADER = ";".join(COLUMNS)
TABLES = (establishments, contracts, legal_representatives)


def _siret(n: int) -> str:
    """A valid SIRET (Luhn keys on the SIREN and the SIRET) for a number below 10**7."""
    siren8 = f"2{n:07d}"
    siren = siren8 + calc_check_digit(siren8)
    body = siren + "0001"
    return body + calc_check_digit(body)


def _cells(j: int) -> list[str]:
    """Line ``j`` of a generated directory: lines ``2k`` and ``2k + 1`` are one commune
    (same SIRET, same values) holding two FMIS contracts."""
    n = j // 2
    street, postal_code, city = f"{n % 90 + 1} rue Haute", f"{33000 + n % 900:05d}", f"Ville {n}"
    return [
        *(_siret(n), f"Commune numéro {n}", "7210", "A", "non", f"FM{j:06d}", "FMIS"),
        *(street, postal_code, city, "", "", "", "Madame", "Martin", "Claire", "Maire"),
        *(street, postal_code, city),
    ]


def _line(j: int) -> str:
    return ";".join(_cells(j))


def _file(path: Path, *lines: str | bytes) -> Path:
    """A directory file: the header, then these lines (bytes as they are), LF ends."""
    body = [line if isinstance(line, bytes) else line.encode() for line in (HEADER, *lines)]
    path.write_bytes(b"\n".join(body) + b"\n")
    return path


def _count_writes(engine: Engine) -> None:
    """Counts in ``writes`` every row inserted or updated in the directory tables,
    whatever statement does it (SQLite triggers)."""
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE writes (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO writes VALUES (0)"))
        for table in TABLES:
            for event in ("INSERT", "UPDATE"):
                trigger = f"count_{table.name}_{event} AFTER {event} ON {table.name}"
                count = "BEGIN UPDATE writes SET n = n + 1; END"
                connection.execute(text(f"CREATE TRIGGER {trigger} {count}"))


def _writes(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT n FROM writes")).scalar_one())


def _sirets(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(establishments.c.siret)).scalars())


def _counts(report: ImportReport) -> tuple[int, int, int, int]:
    return (report.rows_read, report.rows_imported, report.rows_unchanged, report.rows_rejected)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'directory.db'}")
    metadata.create_all(engine, tables=list(TABLES))
    _count_writes(engine)
    yield engine
    engine.dispose()


# --- a stray quote ----------------------------------------------------------------------


@pytest.mark.rule("E1", "E2")
def test_a_stray_quote_on_line_3_rejects_that_line_alone(engine: Engine, tmp_path: Path) -> None:
    """One unclosed quote on line 3 of a 5,000-row file: line 3 is rejected with its
    reason, and the 4,999 other rows are all imported (none swallowed into its cell)."""
    lines = [_line(j) for j in range(5_000)]
    lines[1] = lines[1].replace(";Commune numéro 0;", ';"Commune numéro 0;')
    report = import_directory(engine, _file(tmp_path / "annuaire.csv", *lines), progress=False)
    assert _counts(report) == (5_000, 4_999, 0, 1)
    assert report.rejected == (
        RejectedRow(
            3,
            "ligne",
            "Ligne CSV invalide : le guillemet qui ouvre la cellule 2 (designation) "
            "n'est pas fermé sur la ligne.",
        ),
    )
    assert report.lines == 5_001
    # Line 3's SIRET is also line 2's: it is there, with line 2's contract only.
    assert len(_sirets(engine)) == 2_500
    with engine.connect() as connection:
        numbers = set(connection.execute(select(contracts.c.number)).scalars())
    assert numbers == {f"FM{j:06d}" for j in range(5_000)} - {"FM000001"}


@pytest.mark.rule("E2")
@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        (
            '"Commune numéro 0" de Bordeaux',
            "Ligne CSV invalide : après le guillemet qui ferme la cellule 2 (designation), "
            "« ; » ou la fin de la ligne est attendu.",
        ),
        (
            'Commune "numéro 0',
            "Ligne CSV invalide : la cellule 2 (designation) contient un guillemet sans être "
            "entre guillemets.",
        ),
        (
            'Commune numéro 0"',
            "Ligne CSV invalide : la cellule 2 (designation) contient un guillemet sans être "
            "entre guillemets.",
        ),
    ],
    ids=["text after the closing quote", "a quote inside a cell", "a quote ending a cell"],
)
def test_a_quote_out_of_place_rejects_its_line_with_the_cell_named(
    engine: Engine, tmp_path: Path, cell: str, reason: str
) -> None:
    """A quote that is not the standard quoting of a whole cell rejects its line, the
    reason naming the cell; the lines around it import."""
    bad = _line(0).replace(";Commune numéro 0;", f";{cell};")
    report = import_directory(
        engine, _file(tmp_path / "a.csv", _line(2), bad, _line(4)), progress=False
    )
    assert _counts(report) == (3, 2, 0, 1)
    assert report.rejected == (RejectedRow(3, "ligne", reason),)


@pytest.mark.rule("E1", "E2", "M2")
def test_cells_quoted_the_standard_way_read_as_their_values(engine: Engine, tmp_path: Path) -> None:
    """A spreadsheet that quotes every cell (and the header) writes the same directory
    as a file without quotes: the second import finds every row unchanged."""
    quoted = tmp_path / "quoted.csv"
    with quoted.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows(_cells(j) for j in range(6))
    first = import_directory(engine, quoted, progress=False)
    plain = _file(tmp_path / "plain.csv", *(_line(j) for j in range(6)))
    second = import_directory(engine, plain, progress=False)
    assert (_counts(first), _counts(second)) == ((6, 6, 0, 0), (6, 0, 6, 0))


@pytest.mark.rule("E2")
def test_a_doubled_quote_is_a_quote_in_the_value_which_the_value_refuses(
    engine: Engine, tmp_path: Path
) -> None:
    """``""`` inside a quoted cell stands for one ``"``: the CSV reads, and the value
    object refuses the character on its column (not on the line)."""
    bad = _line(0).replace(";Commune numéro 0;", ';"Commune ""numéro"" 0";')
    report = import_directory(engine, _file(tmp_path / "a.csv", bad), progress=False)
    assert [(r.line, r.field) for r in report.rejected] == [(2, "designation")]


@given(
    cells=st.lists(
        st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n")),
        min_size=1,
        max_size=6,
    ),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_a_line_splits_as_the_csv_module_writes_it(
    cells: list[str], quoting: Literal[0, 1]
) -> None:
    """Any cells without a line break, written by ``csv.writer`` with ``;``, split back
    into the same cells, as ``csv.reader`` reads them."""
    out = io.StringIO()
    csv.writer(out, delimiter=";", quoting=quoting, lineterminator="").writerow(cells)
    line = out.getvalue()
    expected = next(csv.reader([line], delimiter=";", strict=True), [""])
    assert _split_quoted(line) == (expected or [""])
    if quoting == csv.QUOTE_ALL or len(cells) > 1 or cells != [""]:
        assert _split_quoted(line) == cells


@pytest.mark.parametrize(
    ("line", "problem", "cell"),
    [('a;"b', "unclosed", 1), ('"a"b;c', "after_closing", 0), ('a;b";c', "inside", 1)],
)
def test_a_line_that_is_not_one_csv_row_says_what_and_where(
    line: str, problem: str, cell: int
) -> None:
    """The splitter names the problem and the cell (from 0) where it starts."""
    with pytest.raises(_MalformedLineError) as raised:
        _split_quoted(line)
    assert (raised.value.problem, raised.value.cell) == (problem, cell)


# --- the number of cells ----------------------------------------------------------------


@pytest.mark.rule("E2")
def test_a_line_with_a_wrong_number_of_cells_is_rejected(engine: Engine, tmp_path: Path) -> None:
    """One cell too few or one too many (an unquoted ``;`` in a value): that line is
    rejected with the counts, the others import."""
    cells = _cells(0)
    fewer = ";".join(cells[:-1])
    more = ";".join([*cells[:1], "Commune", "de Bordeaux", *cells[2:]])
    report = import_directory(
        engine, _file(tmp_path / "a.csv", fewer, _line(2), more, _line(4)), progress=False
    )
    assert _counts(report) == (4, 2, 0, 2)
    assert report.rejected == (
        RejectedRow(2, "ligne", "La ligne a 19 colonnes au lieu de 20."),
        RejectedRow(4, "ligne", "La ligne a 21 colonnes au lieu de 20."),
    )


@pytest.mark.rule("E2")
def test_every_line_has_the_headers_number_of_cells(engine: Engine, tmp_path: Path) -> None:
    """A header with an extra column (ignored): each line must have its 21 cells."""
    path = tmp_path / "a.csv"
    path.write_text(
        f"{HEADER};remarque\n{_line(0)};à revoir\n{_line(2)}\n", encoding="utf-8", newline=""
    )
    report = import_directory(engine, path, progress=False)
    assert _counts(report) == (2, 1, 0, 1)
    assert report.rejected == (RejectedRow(3, "ligne", "La ligne a 20 colonnes au lieu de 21."),)


# --- the encoding -----------------------------------------------------------------------


@pytest.mark.rule("E2")
def test_a_line_of_invalid_utf8_is_rejected_and_the_next_lines_import(
    engine: Engine, tmp_path: Path
) -> None:
    """A line saved in Latin-1: rejected with its first bad byte and where it is; the
    lines after it are read normally, those holding accents too."""
    latin1 = _line(2).encode("latin-1")
    position = latin1.index(b"\xe9") + 1
    path = _file(tmp_path / "a.csv", _line(0), latin1, _line(4), _line(6))
    report = import_directory(engine, path, progress=False)
    assert _counts(report) == (4, 3, 0, 1)
    assert report.rejected == (
        RejectedRow(
            3,
            "ligne",
            f"Cette ligne n'est pas en UTF-8 valide (octet 0xE9 en position {position}) : "
            "le fichier doit être enregistré en UTF-8.",
        ),
    )
    assert _sirets(engine) == {_siret(0), _siret(2), _siret(3)}


@pytest.mark.rule("E2")
def test_streams_are_read_line_by_line_too(engine: Engine) -> None:
    """A binary stream, and a text stream whose undecodable bytes were escaped, reject
    the bad line alone, as a file does."""
    latin1 = _line(2).replace("numéro", "num\xe9ro").encode("latin-1")
    data = b"\n".join([HEADER.encode(), _line(0).encode(), latin1, _line(4).encode()]) + b"\n"
    binary = import_directory(engine, io.BytesIO(data), progress=False)
    escaped = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape")
    textual = import_directory(engine, escaped, progress=False)
    assert _counts(binary) == (3, 2, 0, 1)
    assert _counts(textual) == (3, 0, 2, 1)
    assert [r.line for r in binary.rejected] == [r.line for r in textual.rejected] == [3]
    assert "octet 0xE9" in binary.rejected[0].reason
    assert "octet 0xE9" in textual.rejected[0].reason


@pytest.mark.rule("E2")
def test_a_lone_surrogate_in_a_text_stream_rejects_its_line(engine: Engine) -> None:
    """A text stream holding a lone surrogate (text that no UTF-8 file can hold): its
    line is rejected as not UTF-8, in a row or in the header alike."""
    bad = _line(2).replace("numéro", "num\ud800ro")
    stream = io.StringIO("\n".join([HEADER, _line(0), bad, _line(4)]) + "\n")
    report = import_directory(engine, stream, progress=False)
    assert _counts(report) == (3, 2, 0, 1)
    assert [r.line for r in report.rejected] == [3]
    assert report.rejected[0].reason.startswith("Cette ligne n'est pas en UTF-8 valide")
    with pytest.raises(DirectoryFileError, match="UTF-8"):
        import_directory(engine, io.StringIO("\ud800" + HEADER + "\n"), progress=False)


def test_a_header_that_is_not_one_utf8_csv_row_refuses_the_file(
    engine: Engine, tmp_path: Path
) -> None:
    """The header must be read to read anything: bad bytes or a stray quote in it
    refuse the whole file."""
    with pytest.raises(DirectoryFileError, match="UTF-8"):
        import_directory(engine, io.BytesIO(b"siret;d\xe9signation\n"), progress=False)
    with pytest.raises(DirectoryFileError, match="pas un CSV valide"):
        import_directory(engine, io.StringIO('siret;"designation\n'), progress=False)
    with pytest.raises(DirectoryFileError, match="vide"):
        import_directory(engine, io.BytesIO(b""), progress=False)


# --- unchanged rows and blank lines -----------------------------------------------------


@pytest.mark.rule("E2", "M2")
def test_a_second_import_finds_every_row_unchanged_and_rewrites_none(
    engine: Engine, tmp_path: Path
) -> None:
    """The same file twice: the second import reports every row unchanged and writes
    no row at all (counted by triggers on the tables)."""
    path = _file(tmp_path / "a.csv", *(_line(j) for j in range(40)))
    with patch("peps_onboarding.adapters.sql.directory_import.BATCH_SIZE", 7):
        first = import_directory(engine, path, progress=False)
        written = _writes(engine)
        second = import_directory(engine, path, progress=False)
    assert _counts(first) == (40, 40, 0, 0)
    assert written == 20 + 40 + 20  # establishments, contracts, representatives
    assert _counts(second) == (40, 0, 40, 0)
    assert second.summary == "40 lignes lues : 0 importées, 40 inchangées, 0 rejetées."
    assert _writes(engine) == written


@pytest.mark.rule("E2", "M2")
def test_only_the_changed_rows_are_rewritten(engine: Engine, tmp_path: Path) -> None:
    """A later file renaming one establishment (on both lines of its SIRET) and moving
    one contract: the first renaming line and the moving line are imported, and only
    their two rows written; the second renaming line repeats what the first gave, and
    it and the others are unchanged."""
    import_directory(
        engine, _file(tmp_path / "a.csv", *(_line(j) for j in range(6))), progress=False
    )
    before = _writes(engine)
    lines = [_line(j) for j in range(6)]
    for j in (2, 3):
        lines[j] = lines[j].replace("Commune numéro 1", "Commune nouvelle numéro 1")
    lines[5] = ";".join([*_cells(0)[:5], "FM000005", *_cells(0)[6:]])  # to SIRET 0 (E2)
    report = import_directory(engine, _file(tmp_path / "b.csv", *lines), progress=False)
    assert _counts(report) == (6, 2, 4, 0)
    assert _writes(engine) - before == 2
    directory = SqlDirectory(engine)
    renamed = directory.establishment(Siret.parse(_siret(1)))
    assert renamed is not None and renamed.designation == "Commune nouvelle numéro 1"
    with engine.connect() as connection:
        holder = select(contracts.c.siret).where(contracts.c.number == "FM000005")
        assert connection.execute(holder).scalar_one() == _siret(0)


@pytest.mark.rule("E2")
def test_blank_lines_are_counted_apart_and_every_line_is_accounted_for(
    engine: Engine, tmp_path: Path
) -> None:
    """Empty lines, spaces, and rows of bare separators (as spreadsheets export) are
    blank: counted, not read; with the header and the rows they make up every line."""
    path = _file(tmp_path / "a.csv", "", _line(0), "   ", ";" * 19, _line(2), "\t")
    report = import_directory(engine, path, progress=False)
    assert (_counts(report), report.blank_lines, report.lines) == ((2, 2, 0, 0), 4, 7)
    assert report.summary.endswith("(4 lignes vides ignorées).")


@pytest.mark.rule("E2")
def test_lines_that_disagree_apply_in_order_and_the_last_wins(
    engine: Engine, tmp_path: Path
) -> None:
    """Two lines giving one SIRET two désignations: each line applies in turn, so each
    counts as imported on every import, and the last one is what the table holds."""
    other = _line(1).replace("Commune numéro 0", "Commune numéro zéro")
    path = _file(tmp_path / "a.csv", _line(0), other)
    for _ in range(2):
        assert _counts(import_directory(engine, path, progress=False)) == (2, 2, 0, 0)
    held = SqlDirectory(engine).establishment(Siret.parse(_siret(0)))
    assert held is not None and held.designation == "Commune numéro zéro"


# --- every line accounted for, whatever the faults ---------------------------------------

_FAULTS = (
    "unclosed quote",
    "quote inside a cell",
    "text after a closing quote",
    "missing cell",
    "extra cell",
    "invalid UTF-8",
)


@st.composite
def _faulty_files(draw: st.DrawFn) -> tuple[list[bytes], set[int], set[int], int, set[int]]:
    """Good lines (pairs sharing a SIRET), some of them made faulty, blank lines between,
    LF or CRLF ends, standard quoting on some good lines. Gives the file's lines, the
    indices of its good lines, the line numbers of its faulty lines, its number of blank
    lines, and the indices already imported beforehand."""
    count = draw(st.integers(1, 24))
    faults = draw(st.dictionaries(st.integers(0, count - 1), st.sampled_from(_FAULTS)))
    earlier = draw(st.sets(st.integers(0, count - 1)))
    lines: list[bytes] = [HEADER.encode()]
    good: set[int] = set()
    faulty: set[int] = set()
    blank = 0
    for j in range(count):
        for _ in range(draw(st.integers(0, 1))):
            lines.append(draw(st.sampled_from([b"", b"  ", b";;;", b"\t"])))
            blank += 1
        cells = _cells(j)
        at = draw(st.integers(0, len(cells) - 1))
        fault = faults.get(j)
        if fault == "unclosed quote":
            cells[at] = '"' + cells[at]
        elif fault == "quote inside a cell":
            cells[at] = cells[at] + '"x'
        elif fault == "text after a closing quote":
            cells[at] = f'"{cells[at]}"x'
        elif fault == "missing cell":
            del cells[at]
        elif fault == "extra cell":
            cells.insert(at, draw(st.sampled_from(["", "x", "21330063500017"])))
        elif draw(st.booleans()):
            cells[at] = f'"{cells[at]}"'
        raw = ";".join(cells).encode()
        if fault == "invalid UTF-8":
            byte = draw(st.sampled_from([b"\xff", b"\xc3", b"\xa9", b"\x80", b"\xe2\x82"]))
            cut = draw(st.integers(0, len(raw)))
            raw = raw[:cut] + byte + raw[cut:]
        lines.append(raw)
        if fault is None:
            good.add(j)
        else:
            faulty.add(len(lines))  # the header is line 1
    ends = draw(st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=len(lines)))
    lines = [line + end for line, end in zip(lines, ends, strict=False)]
    if draw(st.booleans()) and lines[-1].strip():
        lines[-1] = lines[-1].rstrip(b"\r\n")  # no end on the last line
    return lines, good, faulty, blank, earlier


@pytest.mark.rule("E1", "E2", "M2")
@given(file=_faulty_files(), batch=st.integers(1, 5))
def test_every_line_is_imported_unchanged_rejected_or_blank(
    file: tuple[list[bytes], set[int], set[int], int, set[int]], batch: int
) -> None:
    """Whatever faults a file holds and wherever: each faulty line, and it alone, is
    rejected, on its own line number; each good line is imported, or unchanged when an
    earlier import holds it; the counts add up to the file's lines; and importing the
    file again finds every good line unchanged and writes nothing."""
    lines, good, faulty, blank, earlier = file
    engine = create_engine("sqlite://")
    metadata.create_all(engine, tables=list(TABLES))
    _count_writes(engine)
    try:
        with patch("peps_onboarding.adapters.sql.directory_import.BATCH_SIZE", batch):
            before = "\n".join([HEADER, *(_line(j) for j in sorted(earlier))])
            assert import_directory(engine, io.StringIO(before), progress=False).rows_read == len(
                earlier
            )
            report = import_directory(engine, io.BytesIO(b"".join(lines)), progress=False)
            assert {r.line for r in report.rejected} == faulty
            assert all(r.field == "ligne" for r in report.rejected)
            assert _counts(report) == (
                len(good) + len(faulty),
                len(good - earlier),
                len(good & earlier),
                len(faulty),
            )
            assert (report.blank_lines, report.lines) == (blank, len(lines))
            assert _sirets(engine) == {_siret(j // 2) for j in good | earlier}
            with engine.connect() as connection:
                held = connection.execute(select(func.count()).select_from(contracts))
                assert held.scalar_one() == len(good | earlier)
            written = _writes(engine)
            again = import_directory(engine, io.BytesIO(b"".join(lines)), progress=False)
            assert _counts(again) == (len(good) + len(faulty), 0, len(good), len(faulty))
            assert _writes(engine) == written
    finally:
        engine.dispose()
