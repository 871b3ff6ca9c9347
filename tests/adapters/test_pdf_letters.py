"""The letter to the legal representative as a PDF (M2, C9) and the spooling sender (M3)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest
from attrs import evolve

from peps_onboarding.adapters.pdf_letters import (
    LetterheadSettings,
    SpoolLetterSender,
    render_letter_pdf,
)
from peps_onboarding.domain.errors import NotificationDeliveryError
from peps_onboarding.domain.notifications import Letter, LetterKind
from peps_onboarding.domain.values import Civility

WITHDRAWAL_CODE = "K7QX-4MPA-9WZ2"
WITHDRAWAL_URL = "https://peps.example/desinscription"

CLASSIC = Letter(
    letter_id="ltr-0001",
    kind=LetterKind.CLASSIC_ENROLMENT,
    siret="26330043300018",
    designation="Centre hospitalier de Libourne",
    recipient_name="Monsieur Jean-Édouard Lefèvre",
    recipient_title="Directeur général",
    recipient_civility=Civility.MR,
    # The window block as ``address_block`` lays it out (NF Z10-011), name first.
    recipient_address=(
        "Monsieur Jean-Édouard Lefèvre",
        "Directeur général",
        "Centre hospitalier de Libourne",
        "112 rue de la Marne",
        "BP 199",
        "33505 LIBOURNE CEDEX",
    ),
    applicant_name="Mme Odile Guérin",
    applicant_civility=Civility.MRS,
    applicant_function="Responsable des affaires financières",
    applicant_email="odile.guerin@ch-libourne.fr",
    # 23:30 UTC on 12 March is 13 March in Paris: the letter shows French dates.
    registered_at=datetime(2024, 3, 12, 23, 30, tzinfo=UTC),
    # Day J (C5): midnight, Paris time, on 21 March.
    withdrawal_deadline=datetime(2024, 3, 20, 23, 0, tzinfo=UTC),
    withdrawal_code=WITHDRAWAL_CODE,
    withdrawal_url=WITHDRAWAL_URL,
    text="(plain-text body, unused by the PDF adapter)",
)

NET_ENTREPRISES = evolve(
    CLASSIC,
    letter_id="ltr-0002",
    kind=LetterKind.NET_ENTREPRISES_ENROLMENT,
    withdrawal_deadline=None,
    withdrawal_code=None,
    withdrawal_url=None,
)

HOSTILE = evolve(
    CLASSIC,
    letter_id="ltr-0003",
    designation=("<script>alert('x')</script> CENTRE HOSPITALIER UNIVERSITAIRE " * 4).strip(),
    recipient_name=("<b>Marie-Bérénice</b> " * 4)[:64],
    recipient_title=("Directrice générale des établissements publics de santé " * 3)[:64],
    recipient_address=tuple(f"{n}<img src=x onerror=alert(1)>{'A' * 38}"[:38] for n in range(6)),
    applicant_name="W" * 64,
    applicant_function="Responsable des affaires financières et juridiques " * 3,
    applicant_email=("o" * 64) + "@" + ("sous-domaine." * 10) + "fr",
    withdrawal_url=WITHDRAWAL_URL + "?" + "x" * 150,
)


def pdf_reader(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


def page_text(data: bytes) -> str:
    """The page's text with every run of white space (justification, NBSP) as one space."""
    return " ".join(pdf_reader(data).pages[0].extract_text().split())


def squeezed(value: str) -> str:
    return " ".join(value.split())


@pytest.mark.rule("M2")
def test_letter_is_one_a4_page() -> None:
    """The letter is a valid PDF of exactly one A4 page."""
    reader = pdf_reader(render_letter_pdf(CLASSIC))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox  # in points: A4 is 210 × 297 mm
    assert float(box.width) == pytest.approx(595.28, abs=0.5)
    assert float(box.height) == pytest.approx(841.89, abs=0.5)


@pytest.mark.parametrize("letter", [CLASSIC, HOSTILE], ids=["classic", "hostile"])
def test_rendering_a_letter_logs_no_fonttools_line_at_info(
    caplog: pytest.LogCaptureFixture, letter: Letter
) -> None:
    """fpdf2 subsets the fonts with fontTools, which logs ~70 INFO lines a letter: a host
    logging at INFO gets none of them (even for a letter laid out several times)."""
    caplog.set_level(logging.INFO)

    render_letter_pdf(letter)

    assert [r.name for r in caplog.records if r.name.split(".")[0] == "fontTools"] == []


def test_fonttools_logs_as_the_host_configured_outside_a_letter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the rendering is quiet: a host's own use of fontTools still logs at INFO,
    also once a letter was rendered (the library configures no level)."""
    caplog.set_level(logging.INFO)
    render_letter_pdf(CLASSIC)

    logging.getLogger("fontTools.subset").info("the host's own subsetting")

    assert logging.getLogger("fontTools.subset").level == logging.NOTSET
    assert [r.getMessage() for r in caplog.records] == ["the host's own subsetting"]


@pytest.mark.rule("M2")
def test_letter_says_who_registered_when_and_which_establishment() -> None:
    """The text names the representative, the establishment, the applicant and the date."""
    text = page_text(render_letter_pdf(CLASSIC))
    for expected in (
        "Monsieur Jean-Édouard Lefèvre",
        "Directeur général",
        "33505 LIBOURNE CEDEX",
        "Centre hospitalier de Libourne",
        "26330043300018",
        "Mme Odile Guérin",
        "Responsable des affaires financières",
        "odile.guerin@ch-libourne.fr",
        "Objet : Inscription de votre établissement à la Plateforme Employeurs Publics (PEP’s)",
    ):
        assert expected in text


@pytest.mark.rule("M2")
def test_dates_are_french_calendar_dates() -> None:
    """A registration at 23:30 UTC is dated the next day, as Paris lives it."""
    text = page_text(render_letter_pdf(CLASSIC))
    assert "le 13/03/2024" in text
    assert "12/03/2024" not in text


@pytest.mark.rule("M2", "C9")
def test_classic_letter_gives_the_withdrawal_procedure_and_deadline() -> None:
    """The classic letter gives the deadline, the code and the address to withdraw."""
    text = page_text(render_letter_pdf(CLASSIC))
    assert "désinscription jusqu’au 20/03/2024 inclus" in text
    assert WITHDRAWAL_CODE in text
    assert WITHDRAWAL_URL in text
    assert "tacitement acceptées" in text
    assert "Mme Odile Guérin aura la qualité d’administratrice" in text


@pytest.mark.rule("M2", "C9")
def test_classic_letter_without_a_deadline_is_refused() -> None:
    """A classic letter cannot go out without the date that closes the withdrawal."""
    with pytest.raises(ValueError, match="withdrawal deadline"):
        render_letter_pdf(evolve(CLASSIC, withdrawal_deadline=None))


@pytest.mark.rule("M2")
def test_net_entreprises_letter_informs_without_withdrawal() -> None:
    """The Net-Entreprises letter informs the representative and offers no withdrawal."""
    text = page_text(render_letter_pdf(NET_ENTREPRISES))
    assert "Net-Entreprises" in text
    assert "Centre hospitalier de Libourne" in text
    assert "le 13/03/2024" in text
    assert "désinscription" not in text
    assert WITHDRAWAL_CODE not in text


@pytest.mark.rule("M2")
@pytest.mark.parametrize("kind", list(LetterKind))
def test_long_hostile_values_still_fit_on_one_page(kind: LetterKind) -> None:
    """64-character names, six 38-character lines and markup stay on one page, as text."""
    letter = evolve(HOSTILE, kind=kind)
    data = render_letter_pdf(letter)
    assert len(pdf_reader(data).pages) == 1
    text = page_text(data)
    assert "<script>alert('x')</script>" in text
    assert "W" * 20 in text


@pytest.mark.rule("M2")
def test_absurdly_long_values_are_cut_rather_than_spill_onto_a_second_page() -> None:
    """A 3,000-character designation is cut short with « … »: the letter still goes out."""
    letter = evolve(HOSTILE, designation="CENTRE HOSPITALIER " * 160)
    data = render_letter_pdf(letter)
    assert len(pdf_reader(data).pages) == 1
    assert "…" in page_text(data)


@pytest.mark.rule("M2")
def test_line_breaks_and_unprintable_characters_are_neutralised() -> None:
    """A newline in a name adds no line; a character the font lacks prints as « ? »."""
    letter = evolve(
        CLASSIC, recipient_address=("Jean\nDupont\u0000 \U0001f600", *CLASSIC.recipient_address[1:])
    )
    text = page_text(render_letter_pdf(letter))
    assert "Jean Dupont ?" in text


@pytest.mark.rule("M2")
def test_letterhead_can_be_overridden() -> None:
    """A host prints its own sender block, place and signature."""
    settings = LetterheadSettings(
        organisation=("Caisse des Dépôts", "Établissement d’Angers"),
        address=("24 rue Louis Gain", "49939 Angers Cedex 9"),
        city="Angers",
        signature=("Le service des employeurs publics",),
    )
    text = page_text(render_letter_pdf(CLASSIC, sender=settings))
    assert "49939 Angers Cedex 9" in text
    assert "Angers, le 13/03/2024" in text
    assert "Le service des employeurs publics" in text
    assert "Bordeaux" not in text


@pytest.mark.rule("M2")
def test_naive_dates_are_refused() -> None:
    """A date without a time zone could print the wrong day: it is refused."""
    with pytest.raises(ValueError, match="timezone-aware"):
        render_letter_pdf(evolve(CLASSIC, registered_at=datetime(2024, 3, 12, 23, 30)))


@pytest.mark.rule("M2")
def test_same_letter_renders_to_the_same_bytes() -> None:
    """Rendering is deterministic, so a retried delivery produces an identical file."""
    assert render_letter_pdf(CLASSIC) == render_letter_pdf(CLASSIC)


# --- the spool -----------------------------------------------------------------------


@pytest.mark.rule("M2")
def test_spool_writes_the_pdf_and_its_metadata(tmp_path: Path) -> None:
    """The PDF and a JSON describing it land in the folder, and nothing else does."""
    folder = tmp_path / "spool" / "out"
    SpoolLetterSender(folder).send(CLASSIC)

    assert sorted(p.name for p in folder.iterdir()) == ["ltr-0001.json", "ltr-0001.pdf"]
    pdf = (folder / "ltr-0001.pdf").read_bytes()
    assert len(pdf_reader(pdf).pages) == 1
    metadata = json.loads((folder / "ltr-0001.json").read_text(encoding="utf-8"))
    assert metadata["letter_id"] == "ltr-0001"
    assert metadata["kind"] == "classic_enrolment"
    assert metadata["siret"] == "26330043300018"
    assert metadata["designation"] == "Centre hospitalier de Libourne"
    assert metadata["recipient"] == {
        "name": "Monsieur Jean-Édouard Lefèvre",
        "title": "Directeur général",
        "address": [
            "Monsieur Jean-Édouard Lefèvre",
            "Directeur général",
            "Centre hospitalier de Libourne",
            "112 rue de la Marne",
            "BP 199",
            "33505 LIBOURNE CEDEX",
        ],
    }
    assert metadata["applicant"]["name"] == "Mme Odile Guérin"
    assert metadata["registered_at"] == "2024-03-12T23:30:00+00:00"
    assert metadata["withdrawal_deadline"] == "2024-03-20T23:00:00+00:00"
    assert metadata["pdf"] == "ltr-0001.pdf"
    assert metadata["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()


@pytest.mark.rule("M2", "C9", "M4")
def test_spool_metadata_never_holds_the_withdrawal_credentials(tmp_path: Path) -> None:
    """The withdrawal code and URL are printed in the letter only, never in the JSON."""
    SpoolLetterSender(tmp_path).send(CLASSIC)
    raw = (tmp_path / "ltr-0001.json").read_text(encoding="utf-8")
    assert WITHDRAWAL_CODE not in raw
    assert WITHDRAWAL_URL not in raw
    assert "withdrawal_code" not in raw


@pytest.mark.rule("M2")
def test_net_entreprises_metadata_has_no_deadline(tmp_path: Path) -> None:
    """A letter with no withdrawal says so with a null deadline."""
    SpoolLetterSender(tmp_path).send(NET_ENTREPRISES)
    metadata = json.loads((tmp_path / "ltr-0002.json").read_text(encoding="utf-8"))
    assert metadata["kind"] == "net_entreprises_enrolment"
    assert metadata["withdrawal_deadline"] is None


@pytest.mark.rule("M2", "M3")
def test_sending_the_same_letter_twice_changes_nothing(tmp_path: Path) -> None:
    """A retried delivery leaves the same two files, untouched: no letter is posted twice."""
    sender = SpoolLetterSender(tmp_path)
    sender.send(CLASSIC)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    sender.send(CLASSIC)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before
    assert len(after) == 2


@pytest.mark.rule("M2", "M3")
def test_a_half_spooled_letter_is_completed_on_retry(tmp_path: Path) -> None:
    """A PDF left without its JSON (a crash between the two) is completed by the retry."""
    sender = SpoolLetterSender(tmp_path)
    sender.send(CLASSIC)
    (tmp_path / "ltr-0001.json").unlink()
    sender.send(CLASSIC)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ltr-0001.json", "ltr-0001.pdf"]


@pytest.mark.rule("M2", "M3")
def test_an_unwritable_folder_is_a_delivery_error(tmp_path: Path) -> None:
    """A folder that cannot be created raises NotificationDeliveryError, so the outbox retries."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the spool folder should be", encoding="utf-8")
    with pytest.raises(NotificationDeliveryError):
        SpoolLetterSender(blocker / "spool").send(CLASSIC)


@pytest.mark.rule("M2")
@pytest.mark.parametrize("letter_id", ["../escape", "a/b", ".hidden", ""])
def test_a_letter_id_that_cannot_name_a_file_is_refused(tmp_path: Path, letter_id: str) -> None:
    """An id with a path separator or a leading dot never becomes a file name."""
    with pytest.raises(ValueError, match="cannot name a file"):
        SpoolLetterSender(tmp_path / "spool").send(evolve(CLASSIC, letter_id=letter_id))
    assert not (tmp_path / "spool").exists()
