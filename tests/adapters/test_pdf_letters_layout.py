"""The letter as posted, read back from the PDF a real journey produces (M2, C4, C9, P4):
the salutation, the withdrawal date said as the text copy says it, the window block to
NF Z10-011, one page, ragged paragraphs, and the code and the URL whole on their lines.

Every assertion reads the produced PDF (pypdf, text with its position on the page),
never the adapter's constants.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import NamedTuple

import pypdf
import pytest
from attrs import evolve

from peps_onboarding.adapters.pdf_letters import render_letter_pdf
from peps_onboarding.domain.establishment import LegalRepresentative
from peps_onboarding.domain.notifications import Letter
from peps_onboarding.domain.values import Civility, PostalAddress, PostalCode, Siret, TextLine
from peps_onboarding.testing.journeys import COMMUNE, Journey, holder_form

MM = 72 / 25.4  # PDF points in a millimetre
# The window of a DL envelope, on the A4 sheet folded in three (generous bounds: the
# block must be inside them, wherever the adapter sets it).
WINDOW_LEFT, WINDOW_TOP, WINDOW_BOTTOM = 100.0, 40.0, 95.0


class Run(NamedTuple):
    """A piece of text as drawn: where it starts (mm from the top-left corner)."""

    x: float
    y: float
    text: str


def runs(data: bytes) -> list[Run]:
    """Each text run of the only page with its position, in reading order."""
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    found: list[Run] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            x = tm[4] * cm[0] + cm[4]
            y = tm[5] * cm[3] + cm[5]
            found.append(Run(round(x / MM, 1), round(297 - y / MM, 1), " ".join(text.split())))

    page.extract_text(visitor_text=visit)
    return found


def flat(text: str) -> str:
    return " ".join(text.split())


def window_lines(data: bytes) -> list[str]:
    return [
        r.text
        for r in runs(data)
        if r.x >= WINDOW_LEFT and WINDOW_TOP <= r.y <= WINDOW_BOTTOM and "Bordeaux" not in r.text
    ]


def _sample_commune(journey: Journey) -> None:
    """Madame Christine Lefèvre, Maire of the Commune de Saint-Aubin-de-Médoc."""


def _long_address(journey: Journey) -> None:
    """The longest commune and street names C4 cites, with both compléments: a block
    that cannot be printed as typed."""
    directory = journey.world.directory
    siret = Siret.parse(COMMUNE)
    establishment = directory.establishment(siret)
    assert establishment is not None
    directory.add(
        establishment,
        legal_representative=LegalRepresentative(
            civility=Civility.MR,
            last_name="Montgolfier-Delacroix",
            first_name="Jean-Édouard",
            title="Maire",
            address=PostalAddress(
                street=TextLine("12 avenue du Maréchal de Lattre de Tassigny"),
                postal_code=PostalCode("51290"),
                city=TextLine("Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson"),
                address_complement=TextLine("Hôtel de ville"),
                identification_complement=TextLine("Secrétariat général"),
            ),
        ),
    )


def _no_civility(journey: Journey) -> None:
    """A representative the directory knows without a civilité."""
    directory = journey.world.directory
    siret = Siret.parse(COMMUNE)
    establishment = directory.establishment(siret)
    assert establishment is not None and establishment.address is not None
    directory.add(
        establishment,
        legal_representative=LegalRepresentative(
            civility=None,
            last_name="Lefèvre",
            first_name="Christine",
            title="Maire",
            address=establishment.address,
        ),
    )


def letter_of(arrange: Callable[[Journey], None]) -> Letter:
    """The letter the classic path posts, once the directory is ``arrange``-d."""
    journey = Journey.start()
    arrange(journey)
    journey.register(holder=holder_form("Paul", "Martin", civility="Monsieur"))
    journey.deliver()
    letter = journey.world.letters.sent[-1]
    assert letter.siret == COMMUNE
    return letter


SAMPLES = pytest.mark.parametrize(
    "arrange", [_sample_commune, _long_address], ids=["sample-commune", "long-address"]
)


@pytest.mark.rule("M2")
@pytest.mark.parametrize(
    ("arrange", "expected"),
    [
        (_sample_commune, "Madame la Maire"),
        (_long_address, "Monsieur le Maire"),
        (_no_civility, "Madame, Monsieur"),
    ],
    ids=["madame-la-maire", "monsieur-le-maire", "no-civility"],
)
def test_the_letter_opens_and_closes_with_the_representatives_salutation(
    arrange: Callable[[Journey], None], expected: str
) -> None:
    """M2: a letter to « Madame Christine Lefèvre, Maire » opens « Madame la Maire, » and
    closes with it, on paper and in the text copy alike."""
    letter = letter_of(arrange)
    pdf = [r.text for r in runs(render_letter_pdf(letter))]
    closing = f"Nous vous prions d’agréer, {expected}, l’expression de nos salutations distinguées."
    assert f"{expected}," in pdf
    assert closing in pdf
    text = letter.text.splitlines()
    assert f"{expected}," in text
    assert text[-1] == closing


@pytest.mark.rule("M2", "C9")
@SAMPLES
def test_the_pdf_and_the_text_copy_say_the_withdrawal_date_the_same_way(
    arrange: Callable[[Journey], None],
) -> None:
    """C9: one withdrawal date, said once and one way, « jusqu’au 20/03/2024 inclus », in
    the same sentence in the PDF and in ``Letter.text``."""
    letter = letter_of(arrange)
    pdf = flat(pypdf.PdfReader(io.BytesIO(render_letter_pdf(letter))).pages[0].extract_text())
    text = flat(letter.text)
    sentence = (
        "Si vous ne souhaitez pas que votre établissement soit inscrit, vous pouvez demander "
        "sa désinscription jusqu’au 20/03/2024 inclus :"
    )
    for copy in (pdf, text):
        assert sentence in copy
        assert copy.count("20/03/2024") == 1
        assert "avant le" not in copy
        assert "21/03/2024" not in copy


@pytest.mark.rule("C4", "M2")
@SAMPLES
def test_the_window_block_follows_nf_z10_011(arrange: Callable[[Journey], None]) -> None:
    """C4: what the envelope's window shows is at most 6 lines of at most 38 characters,
    the last « CODE LOCALITE » in capitals without accents, the recipient first; the
    text copy opens with the same block."""
    letter = letter_of(arrange)
    block = window_lines(render_letter_pdf(letter))
    assert 2 <= len(block) <= 6
    assert all(len(line) <= 38 for line in block), block
    assert re.fullmatch(r"\d{5}( [A-Z0-9]+)+", block[-1]), block[-1]
    assert block[0].endswith(("Christine Lefèvre", "Jean-Édouard Montgolfier-Delacroix"))
    assert letter.text.splitlines()[: len(block)] == block


@pytest.mark.rule("C4")
def test_a_long_commune_and_street_are_printed_in_la_postes_form() -> None:
    """C4: the address typed in full is fitted, not refused: the street and the locality
    in La Poste's abbreviations, the code postal whole."""
    block = window_lines(render_letter_pdf(letter_of(_long_address)))
    assert "12 AV DU MAL DE LATTRE DE TASSIGNY" in block
    assert block[-1].startswith("51290 ST REMY EN BOUZEMONT")


@pytest.mark.rule("M2")
@SAMPLES
def test_the_letter_is_exactly_one_page(arrange: Callable[[Journey], None]) -> None:
    """M2: one sheet, whatever the address."""
    data = render_letter_pdf(letter_of(arrange))
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) == 1


@pytest.mark.rule("M2")
@SAMPLES
def test_every_paragraph_is_ragged_right(arrange: Callable[[Journey], None]) -> None:
    """M2: one layout for every paragraph, left-aligned: no line is stretched to the
    margin (fpdf2 justifies by spacing words in TJ arrays; a ragged line is one Tj) and
    every body line starts at the left margin or at one of the two list indents."""
    data = render_letter_pdf(letter_of(arrange))
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    contents = page.get_contents()
    assert contents is not None
    assert b"TJ" not in contents.get_data()
    body = [r for r in runs(data) if 105 <= r.y <= 250 and r.x < 60]
    assert {r.x for r in body} <= {body[0].x, body[0].x + 6.0, body[0].x + 12.0}


@pytest.mark.rule("P4", "M2")
@SAMPLES
def test_the_code_and_the_url_are_each_whole_on_a_line_of_their_own(
    arrange: Callable[[Journey], None],
) -> None:
    """P4: the code ``XXXX-XXXX-XXXX`` and the withdrawal page's address each fill one
    line, uncut, in the PDF and in the text copy."""
    letter = letter_of(arrange)
    assert letter.withdrawal_code and letter.withdrawal_url
    drawn = [r.text for r in runs(render_letter_pdf(letter))]
    assert letter.withdrawal_code in drawn
    assert letter.withdrawal_url in drawn
    lines = [line.strip() for line in letter.text.splitlines()]
    assert letter.withdrawal_code in lines
    assert letter.withdrawal_url in lines


@pytest.mark.rule("P4")
def test_an_address_too_long_for_a_line_breaks_only_after_a_slash() -> None:
    """P4: a host's withdrawal address longer than the line, even at the smallest size,
    is printed in pieces that each end at « / » (or « ? », « & »), never mid-word."""
    segments = ["https://" + "sous-domaine-de-la-plateforme." * 3 + "example", "employeurs"]
    segments += ["publics", "inscriptions", "desinscription-par-le-representant-legal"] * 2
    url = "/".join(segments)
    letter = evolve(letter_of(_sample_commune), withdrawal_url=url)
    drawn = runs(render_letter_pdf(letter))
    start = next(i for i, r in enumerate(drawn) if url.startswith(r.text) and len(r.text) > 20)
    pieces: list[str] = []
    while "".join(pieces) != url:
        pieces.append(drawn[start + len(pieces)].text)
    assert len(pieces) > 1
    assert all(piece.endswith(("/", "?", "&")) for piece in pieces[:-1])
    assert len({drawn[start + i].x for i in range(len(pieces))}) == 1  # one column
