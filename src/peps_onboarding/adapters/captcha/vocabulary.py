"""The office objects of the image-choice security check (rule C1), one place for all.

Each object has the name the prompt and the sound version use, the Lucide pictogram it
is drawn with, and the file names of its assets. ``tools/build_captcha_assets.py`` reads
this table to copy the pictograms and to speak the words; the adapter reads it to serve
them. The slugs are file names only: they never reach a person or a form.
"""

from __future__ import annotations

from typing import Final

from attrs import frozen

__all__ = ["OBJECTS", "OfficeObject"]


@frozen(kw_only=True)
class OfficeObject:
    slug: str  # the asset files' stem, ASCII
    name: str  # as the prompt shows it: « Cliquer sur l'image Trombone »
    spoken: str  # what the sound version says (the name, lower case, for espeak-ng)
    lucide: str  # the lucide-static icon it is drawn with (icons/<lucide>.svg)


OBJECTS: Final[tuple[OfficeObject, ...]] = (
    OfficeObject(slug="trombone", name="Trombone", spoken="trombone", lucide="paperclip"),
    OfficeObject(slug="ciseaux", name="Ciseaux", spoken="ciseaux", lucide="scissors"),
    OfficeObject(slug="enveloppe", name="Enveloppe", spoken="enveloppe", lucide="mail"),
    OfficeObject(slug="crayon", name="Crayon", spoken="crayon", lucide="pencil"),
    OfficeObject(slug="cle", name="Clé", spoken="clé", lucide="key-round"),
    OfficeObject(slug="livre", name="Livre", spoken="livre", lucide="book"),
    OfficeObject(slug="regle", name="Règle", spoken="règle", lucide="ruler"),
    OfficeObject(
        slug="calculatrice", name="Calculatrice", spoken="calculatrice", lucide="calculator"
    ),
    OfficeObject(slug="lampe", name="Lampe", spoken="lampe", lucide="lamp-desk"),
    OfficeObject(slug="imprimante", name="Imprimante", spoken="imprimante", lucide="printer"),
)
"""Ten objects: a choice of six shows most of them, and none is a near twin of another."""
