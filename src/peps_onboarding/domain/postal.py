"""The postal address block of a letter, laid out to the French standard (rule C4).

NF Z10-011 (and La Poste's guide to it) asks of an address block: at most
:data:`MAX_LINES` lines of at most :data:`MAX_LINE_LENGTH` characters, spaces
included, in this order:

1. the recipient (civilité, prénom, nom; or the organisation), and more of the
   recipient's identity (function, service) when there is room;
2. the complément d'identification (« Service du personnel », « Appartement 12 »);
3. the complément d'adresse, the building (« Bâtiment B », « Résidence les Pins »);
4. the numéro et libellé de la voie;
5. the lieu-dit or the boîte postale;
6. the distribution line: the code postal, one space, the locality, in capitals
   without accents or punctuation.

C4 says a person's address is accepted as typed and fitted to that standard by
formatting, never refused. :func:`address_block` therefore keeps every line as
typed when it fits, and otherwise, in this order:

- writes an over-long address line in La Poste's normalised form (capitals
  without accents, no punctuation) with La Poste's abbreviations, first of the
  voie type (AVENUE → AV, BOULEVARD → BD…), then of titles (MARECHAL → MAL,
  SAINT → ST…), only as far as needed;
- abbreviates the civilité of an over-long recipient line (Madame → Mme);
- wraps what is still too long on word boundaries, if the block has lines to
  spare, and cuts it at a word boundary otherwise;
- when the block has more than six lines, joins the recipient's lines two by two
  (« Madame Christine Lefèvre, Maire ») and the two compléments, when the joined
  line fits, and only then drops the recipient's last lines (the first is kept).

The distribution line follows La Poste's « libellé d'acheminement »: capitals
without accents, hyphens and apostrophes written as spaces
(« L ABERGEMENT CLEMENCIAT »), SAINT and SAINTE always written ST and STE
(« ST ETIENNE »). The locality then has 32 characters (38 less the code and its
space); beyond, further title abbreviations apply, and a cut on a word
boundary is the last resort: the code postal, always printed whole, is what
routes the letter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Final

from .values import PostalAddress

__all__ = [
    "MAX_LINES",
    "MAX_LINE_LENGTH",
    "address_block",
    "distribution_line",
    "postal_form",
]

MAX_LINES: Final = 6
MAX_LINE_LENGTH: Final = 38

# La Poste's abbreviations of the voie types (the list of NF Z10-011's annex, as
# La Poste publishes it for its address normalisation, « RNVP »).
VOIE_TYPES: Final[dict[str, str]] = {
    "ALLEE": "ALL",
    "ALLEES": "ALL",
    "AVENUE": "AV",
    "BOULEVARD": "BD",
    "CARREFOUR": "CAR",
    "CHAUSSEE": "CHS",
    "CHEMIN": "CHE",
    "CHEMINEMENT": "CHEM",
    "CORNICHE": "COR",
    "COURS": "CRS",
    "DOMAINE": "DOM",
    "DESCENTE": "DSC",
    "ESPLANADE": "ESP",
    "FAUBOURG": "FG",
    "HAMEAU": "HAM",
    "IMPASSE": "IMP",
    "LOTISSEMENT": "LOT",
    "MONTEE": "MTE",
    "PASSAGE": "PAS",
    "PLACE": "PL",
    "PLATEAU": "PLT",
    "PROMENADE": "PRO",
    "PARVIS": "PRV",
    "QUARTIER": "QUA",
    "RESIDENCE": "RES",
    "RUELLE": "RLE",
    "ROCADE": "ROC",
    "ROUTE": "RTE",
    "SENTIER": "SEN",
    "SQUARE": "SQ",
    "TRAVERSE": "TRA",
    "VILLAGE": "VLGE",
    "ZONE": "ZONE",
}

# Titles and frequent words of voie and locality names, abbreviated the same way.
TITLES: Final[dict[str, str]] = {
    "SAINT": "ST",
    "SAINTE": "STE",
    "SAINTS": "STS",
    "SAINTES": "STES",
    "MARECHAL": "MAL",
    "GENERAL": "GAL",
    "COMMANDANT": "CDT",
    "CAPITAINE": "CNE",
    "LIEUTENANT": "LT",
    "COLONEL": "COL",
    "ADJUDANT": "ADJ",
    "AMIRAL": "AMI",
    "DOCTEUR": "DR",
    "PROFESSEUR": "PR",
    "PRESIDENT": "PDT",
    "MONSEIGNEUR": "MGR",
    "GRAND": "GD",
    "GRANDE": "GDE",
    "PETIT": "PT",
    "PETITE": "PTE",
    "BATIMENT": "BAT",
    "ESCALIER": "ESC",
    "APPARTEMENT": "APT",
    "IMMEUBLE": "IMM",
    "ENTREE": "ENT",
}

_CIVILITIES: Final[dict[str, str]] = {
    "Monsieur": "M.",
    "Madame": "Mme",
    "Mademoiselle": "Mlle",
    "Messieurs": "MM.",
    "Mesdames": "Mmes",
}
# Letters NFKD does not decompose, folded as French spells them.
_LIGATURES: Final = str.maketrans(
    {"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "ß": "ss", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l"}
)
_NOT_POSTAL: Final = re.compile(r"[^A-Z0-9]+")
_LOCALITY_LENGTH: Final = MAX_LINE_LENGTH - 6  # the code postal and its space


def postal_form(text: str) -> list[str]:
    """The words of ``text`` as La Poste writes lines 4 to 6: capitals, no accents,
    nothing but letters and digits (hyphens and apostrophes become spaces)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    return _NOT_POSTAL.sub(" ", bare).split()


def _abbreviate(words: list[str], table: dict[str, str], limit: int, *, first: bool) -> list[str]:
    """Abbreviate ``words`` from ``table``, left to right, until they fit in ``limit``;
    ``first`` abbreviates only the first word found in the table (the voie type)."""
    result = list(words)
    for index, word in enumerate(result):
        if len(" ".join(result)) <= limit:
            break
        if word in table:
            result[index] = table[word]
            if first:
                break
    return result


def _cut(text: str, limit: int) -> str:
    """``text`` cut at the last word boundary that fits (mid-word only for one long word)."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    space = head.rfind(" ")
    return (head[:space] if space > 0 else text[:limit]).rstrip()


def _wrap(text: str, limit: int = MAX_LINE_LENGTH) -> list[str]:
    """Greedy word wrap; a word longer than a line is split."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > limit:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:limit])
            word = word[limit:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= limit:
            current = f"{current} {word}"
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _fit_address_line(text: str) -> list[str]:
    """An address line as typed, or normalised and abbreviated; wrapped if still too long."""
    if len(text) <= MAX_LINE_LENGTH:
        return [text]
    words = postal_form(text)
    words = _abbreviate(words, VOIE_TYPES, MAX_LINE_LENGTH, first=True)
    words = _abbreviate(words, TITLES, MAX_LINE_LENGTH, first=False)
    return _wrap(" ".join(words))


def _fit_recipient_line(text: str) -> list[str]:
    """A recipient line as typed, its civilité abbreviated if too long, then wrapped."""
    if len(text) <= MAX_LINE_LENGTH:
        return [text]
    first, _, rest = text.partition(" ")
    if first in _CIVILITIES and rest:
        text = f"{_CIVILITIES[first]} {rest}"
    return _wrap(text)


def distribution_line(address: PostalAddress) -> str:
    """Line 6: « CODE POSTAL LOCALITE » as La Poste's libellé d'acheminement writes it.

    >>> from peps_onboarding.domain.values import PostalCode, TextLine
    >>> distribution_line(PostalAddress(street=TextLine("1 rue de la Paix"),
    ...     postal_code=PostalCode("42000"), city=TextLine("Saint-Étienne")))
    '42000 ST ETIENNE'
    """
    words = postal_form(str(address.city))
    words = [TITLES[w] if w in ("SAINT", "SAINTE", "SAINTS", "SAINTES") else w for w in words]
    words = _abbreviate(words, TITLES, _LOCALITY_LENGTH, first=False)
    locality = _cut(" ".join(words), _LOCALITY_LENGTH)
    return f"{address.postal_code} {locality}".rstrip()


def _joined(first: str, second: str) -> str | None:
    joined = f"{first}, {second}"
    return joined if len(joined) <= MAX_LINE_LENGTH else None


def _join_pairs(groups: list[list[str]], total: int, budget: int) -> tuple[list[list[str]], int]:
    """Join neighbouring one-line groups with « , » while the block is over budget."""
    index = 0
    while total > budget and index + 1 < len(groups):
        first, second = groups[index], groups[index + 1]
        joined = _joined(first[0], second[0]) if len(first) == len(second) == 1 else None
        if joined is not None:
            groups[index : index + 2] = [[joined]]
            total -= 1
        else:
            index += 1
    return groups, total


def address_block(recipient: Sequence[str], address: PostalAddress) -> tuple[str, ...]:
    """Rule C4: the recipient and ``address`` as an NF Z10-011 block.

    At most :data:`MAX_LINES` lines of at most :data:`MAX_LINE_LENGTH` characters; the
    last is :func:`distribution_line`. Nothing is refused: see the module's docstring
    for how a long address is fitted.

    >>> from peps_onboarding.domain.values import PostalCode, TextLine
    >>> block = address_block(
    ...     ["Madame Christine Lefèvre", "Maire"],
    ...     PostalAddress(
    ...         street=TextLine("12 avenue du Maréchal de Lattre de Tassigny"),
    ...         postal_code=PostalCode("51290"),
    ...         city=TextLine("Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson"),
    ...     ),
    ... )
    >>> for line in block:
    ...     print(line)
    Madame Christine Lefèvre
    Maire
    12 AV DU MAL DE LATTRE DE TASSIGNY
    51290 ST REMY EN BOUZEMONT ST GENEST
    """
    people = [" ".join(line.split()) for line in recipient]
    people = [line for line in people if line]
    optional = [
        " ".join(str(part).split()) if part is not None else ""
        for part in (address.identification_complement, address.address_complement)
    ]
    street = " ".join(str(address.street).split())
    locality = " ".join(str(address.locality).split()) if address.locality is not None else ""
    budget = MAX_LINES - 1  # the distribution line is always there

    recipient_groups = [_fit_recipient_line(line) for line in people]
    complement_groups = [_fit_address_line(line) for line in optional if line]
    tail_groups = [_fit_address_line(street)] + ([_fit_address_line(locality)] if locality else [])

    def total() -> int:
        return sum(len(g) for g in (*recipient_groups, *complement_groups, *tail_groups))

    count = total()
    recipient_groups, count = _join_pairs(recipient_groups, count, budget)
    complement_groups, count = _join_pairs(complement_groups, count, budget)
    # Still over: a wrapped line is cut back to one line, the recipient's first.
    for groups in (recipient_groups, complement_groups, tail_groups):
        for index, group in enumerate(groups):
            if count > budget and len(group) > 1:
                groups[index] = [_cut(" ".join(group), MAX_LINE_LENGTH)]
                count -= len(group) - 1
    while count > budget and len(recipient_groups) > 1:
        count -= len(recipient_groups.pop())
    lines = [
        line for group in (*recipient_groups, *complement_groups, *tail_groups) for line in group
    ]
    return (*lines, distribution_line(address))
