"""The letter's address block, laid out to NF Z10-011 (rule C4): examples a reader checks.

The properties (any accepted address fits) are in ``tests/properties/test_postal_block.py``.
"""

from __future__ import annotations

import doctest

import pytest

from peps_onboarding.domain import postal
from peps_onboarding.domain.postal import address_block, distribution_line
from peps_onboarding.domain.values import PostalAddress, PostalCode, TextLine


def address(
    street: str,
    code: str,
    city: str,
    *,
    address_complement: str | None = None,
    identification_complement: str | None = None,
    locality: str | None = None,
) -> PostalAddress:
    def line(text: str | None) -> TextLine | None:
        return TextLine.parse(text, max_length=100) if text is not None else None

    return PostalAddress(
        street=TextLine.parse(street, max_length=100),
        postal_code=PostalCode.parse(code),
        city=TextLine.parse(city, max_length=100),
        address_complement=line(address_complement),
        identification_complement=line(identification_complement),
        locality=line(locality),
    )


@pytest.mark.rule("C4")
def test_a_short_address_is_printed_as_typed_with_the_distribution_line_in_capitals() -> None:
    """What fits stays as the person typed it; only the last line is normalised."""
    block = address_block(
        ["Madame Christine Lefèvre", "Maire"],
        address("6 place des Clémens", "35140", "Saint-Aubin-du-Cormier"),
    )
    assert block == (
        "Madame Christine Lefèvre",
        "Maire",
        "6 place des Clémens",
        "35140 ST AUBIN DU CORMIER",
    )


@pytest.mark.rule("C4")
def test_the_longest_commune_and_a_long_avenue_fit_the_standard() -> None:
    """« Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson » and « 12 avenue du Maréchal de
    Lattre de Tassigny » are written with La Poste's abbreviations, never refused."""
    block = address_block(
        ["Madame Christine Lefèvre", "Maire"],
        address(
            "12 avenue du Maréchal de Lattre de Tassigny",
            "51290",
            "Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson",
        ),
    )
    assert block == (
        "Madame Christine Lefèvre",
        "Maire",
        "12 AV DU MAL DE LATTRE DE TASSIGNY",
        "51290 ST REMY EN BOUZEMONT ST GENEST",
    )
    assert all(len(line) <= 38 for line in block)


@pytest.mark.rule("C4")
@pytest.mark.parametrize(
    ("city", "line"),
    [
        ("Saint-Étienne", "42000 ST ETIENNE"),
        ("L'Abergement-Clémenciat", "42000 L ABERGEMENT CLEMENCIAT"),
        ("Sainte-Marie-aux-Mines", "42000 STE MARIE AUX MINES"),
        ("Bordeaux Cedex", "42000 BORDEAUX CEDEX"),
        ("Œuilly", "42000 OEUILLY"),
    ],
)
def test_the_distribution_line_follows_la_poste_libelle(city: str, line: str) -> None:
    """Capitals without accents, hyphens and apostrophes as spaces, SAINT written ST."""
    assert distribution_line(address("1 rue de la Paix", "42000", city)) == line


@pytest.mark.rule("C4")
def test_a_full_address_with_three_recipient_lines_keeps_six_lines() -> None:
    """Too many lines: the recipient's lines are joined where they fit, the address kept."""
    block = address_block(
        ["Madame Christine Lefèvre", "Maire", "Mairie de Saint-Aubin"],
        address(
            "6 place des Clémens",
            "35140",
            "Saint-Aubin-du-Cormier",
            identification_complement="Service des ressources humaines",
            address_complement="Bâtiment B",
            locality="BP 12",
        ),
    )
    assert block == (
        "Madame Christine Lefèvre, Maire",
        "Service des ressources humaines",
        "Bâtiment B",
        "6 place des Clémens",
        "BP 12",
        "35140 ST AUBIN DU CORMIER",
    )


@pytest.mark.rule("C4")
def test_a_long_establishment_designation_is_wrapped_when_there_is_room() -> None:
    """An organisation's name longer than a line goes on two lines, cut between words."""
    block = address_block(
        ["Centre hospitalier intercommunal de Villeneuve-Saint-Georges"],
        address("40 allée de la Source", "94190", "Villeneuve-Saint-Georges"),
    )
    assert block == (
        "Centre hospitalier intercommunal de",
        "Villeneuve-Saint-Georges",
        "40 allée de la Source",
        "94190 VILLENEUVE ST GEORGES",
    )


@pytest.mark.rule("C4")
def test_a_long_civility_line_is_abbreviated_first() -> None:
    """« Madame » becomes « Mme » before a name is wrapped."""
    block = address_block(
        ["Madame Marie-Christine Delacroix-Montaut"],
        address("1 rue de la Paix", "75002", "Paris"),
    )
    assert block[0] == "Mme Marie-Christine Delacroix-Montaut"


def test_the_module_examples_run() -> None:
    """The docstrings' examples are true."""
    assert doctest.testmod(postal).failed == 0
