"""Properties of the letter's address block (rule C4, NF Z10-011) for any address the
form accepts: six lines at most, 38 characters a line, the last one « CODE POSTAL
VILLE » in ASCII capitals with the code intact, and what fits printed as typed.

The layout rules are restated here from the standard, never imported from the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from peps_onboarding.domain.postal import address_block
from peps_onboarding.domain.values import (
    InvalidFieldError,
    PostalAddress,
    PostalCode,
    TextLine,
    parse_city,
)

# What people type in addresses: letters with accents, digits, and the punctuation
# TextLine accepts; sometimes a non-Latin letter or a ligature.
_TYPED = st.one_of(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.sampled_from("éèêëàâäîïôöûüùçÉÈÊÀÂÎÔÛÇœŒæÆÿŸß"),
    st.sampled_from("0123456789"),
    st.sampled_from("      -'’,.()/&#°+"),
    st.characters(categories=["L"]),
)
# A line starts with a letter or a digit, as every real address line does.
_FIRST = st.one_of(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzÉÀ0123456789"), st.characters(categories=["L"])
)


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.builds(str.__add__, _FIRST, st.text(alphabet=_TYPED, max_size=max_size - 1))


WORDS = st.sampled_from(
    [
        "avenue",
        "AVENUE",
        "boulevard",
        "Saint",
        "Sainte",
        "du",
        "Maréchal",
        "Général",
        "de",
        "la",
        "Lattre",
        "Tassigny",
        "Bâtiment",
        "Résidence",
        "12",
        "bis",
        "Bouzemont",
        "Notre",
        "Dame",
        "Grande",
        "Rue",
    ]
)


def _typed_line(max_size: int) -> st.SearchStrategy[str]:
    return st.one_of(
        _text(max_size),
        st.lists(WORDS, min_size=1, max_size=20).map(" ".join),
        st.lists(_text(45), min_size=1, max_size=6).map(" ".join),
    )


def _parsed(parse: Callable[[str], TextLine], raw: str) -> TextLine:
    """``raw`` as the form parses it; a value the form refuses is no address to lay out."""
    try:
        return parse(raw)
    except InvalidFieldError:
        assume(False)
        raise


_SHORT = st.one_of(
    _text(38),
    st.lists(WORDS, min_size=1, max_size=4).map(" ".join),
)


@st.composite
def accepted_addresses(
    draw: st.DrawFn, lines: st.SearchStrategy[str] | None = None
) -> PostalAddress:
    """Any address the C4 form accepts (drawn as typed, then parsed by the form's values);
    ``lines``, when given, draws every line."""

    def typed(max_size: int) -> str:
        return draw(lines if lines is not None else _typed_line(max_size))

    def optional() -> TextLine | None:
        if draw(st.booleans()):
            return None
        return _parsed(TextLine.parse, typed(100))

    return PostalAddress(
        street=_parsed(TextLine.parse, typed(100)),
        postal_code=PostalCode.parse(draw(st.from_regex(r"\A(?:0[1-9]|[1-9][0-9])[0-9]{3}\Z"))),
        city=_parsed(parse_city, typed(60)),
        address_complement=optional(),
        identification_complement=optional(),
        locality=optional(),
    )


RECIPIENTS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "Madame Christine Lefèvre",
                "Monsieur Jean-Baptiste de La Rochefoucauld-Montbel",
                "Maire",
                "Directrice générale des services",
                "Centre hospitalier intercommunal de Villeneuve-Saint-Georges Lucie et "
                "Raymond Aubrac",
                "Commune de Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson",
            ]
        ),
        st.text(alphabet=_TYPED, min_size=1, max_size=200),
    ),
    max_size=4,
)
DISTRIBUTION = re.compile(r"[0-9]{5}(?: [A-Z0-9]+)*")


@pytest.mark.rule("C4")
@given(recipient=RECIPIENTS, address=accepted_addresses())
@example(
    recipient=["Madame Christine Lefèvre", "Maire", "Mairie"],
    address=PostalAddress(
        street=TextLine("12 avenue du Maréchal de Lattre de Tassigny"),
        postal_code=PostalCode("51290"),
        city=TextLine("Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson"),
        address_complement=TextLine("Bâtiment administratif, escalier B, 2e étage"),
        identification_complement=TextLine("Direction des ressources humaines"),
        locality=TextLine("Lieu-dit la Grande Pièce des Champs"),
    ),
)
def test_any_accepted_address_fits_the_postal_standard(
    recipient: list[str], address: PostalAddress
) -> None:
    """At most 6 lines of at most 38 characters, none blank; the last one is the code
    postal, whole, then the locality in capitals without accents or punctuation."""
    block = address_block(recipient, address)
    assert 2 <= len(block) <= 6
    assert all(0 < len(line) <= 38 for line in block), block
    assert all(line == line.strip() for line in block), block
    last = block[-1]
    assert last.startswith(f"{address.postal_code}"), last
    assert DISTRIBUTION.fullmatch(last), last
    assert last.isascii() and last == last.upper()


@pytest.mark.rule("C4")
@given(recipient=RECIPIENTS, address=accepted_addresses())
def test_the_address_is_never_dropped_for_the_recipient(
    recipient: list[str], address: PostalAddress
) -> None:
    """The address lines present all get a line (the two compléments may share one); the
    recipient's first line, when there is one, comes first."""
    block = address_block(recipient, address)
    complements = [p for p in (address.identification_complement, address.address_complement) if p]
    other = 1 + (address.locality is not None)  # the street and the lieu-dit
    minimum = other + min(len(complements), 1) + 1  # + the distribution line
    recipients = [" ".join(r.split()) for r in recipient if r.split()]
    assert len(block) >= minimum + min(len(recipients), 1)
    if recipients and len(recipients[0]) <= 38:
        assert block[0].startswith(recipients[0])


@pytest.mark.rule("C4")
@given(recipient=st.lists(_SHORT, max_size=2), address=accepted_addresses(_SHORT))
def test_what_fits_is_printed_as_typed(recipient: list[str], address: PostalAddress) -> None:
    """When every line fits and there are six at most, the block is the lines as typed,
    in the standard's order, then the distribution line: nothing is rewritten."""
    recipients = [" ".join(r.split()) for r in recipient if r.split()]
    parts = [
        str(p)
        for p in (
            address.identification_complement,
            address.address_complement,
            address.street,
            address.locality,
        )
        if p is not None
    ]
    typed = [*recipients, *parts]
    assume(len(typed) <= 5 and all(len(line) <= 38 for line in typed))
    assert address_block(recipient, address)[:-1] == tuple(typed)


@pytest.mark.rule("C4")
@pytest.mark.parametrize(
    ("city", "last"),
    [
        ("Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson", "51290 ST REMY EN BOUZEMONT ST GENEST"),
        ("L'Haÿ-les-Roses", "51290 L HAY LES ROSES"),
        ("Bordeaux Cedex 9", "51290 BORDEAUX CEDEX 9"),
        ("Y", "51290 Y"),
    ],
)
def test_the_distribution_line_examples(city: str, last: str) -> None:
    """La Poste's way: capitals, no accents, hyphens and apostrophes as spaces, ST."""
    address = PostalAddress(
        street=TextLine("1 rue de la Paix"), postal_code=PostalCode("51290"), city=TextLine(city)
    )
    assert address_block((), address)[-1] == last
