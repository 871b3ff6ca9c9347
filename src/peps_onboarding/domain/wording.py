"""French wording the e-mails share (M1): agreement with the civilité, Paris time said
so, who withdrew a registration (C9), the seed's footer.

Pure functions of the values a notification carries, so the plain-text renderer of the
core and the Jinja2 adapter word things the same way.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from .values import Civility

__all__ = [
    "CLOSING",
    "PARIS",
    "PRIVACY_LINK_TEXT",
    "PRIVACY_NOTICE",
    "PRIVACY_WITHOUT_URL",
    "SIGNATURE_LINES",
    "WITHDRAWN_BY_APPLICANT",
    "WITHDRAWN_BY_LEGAL_REPRESENTATIVE",
    "agreed",
    "is_feminine",
    "paris_date",
    "paris_date_time",
    "privacy_line",
    "withdrawal_sentence",
]

PARIS = ZoneInfo("Europe/Paris")

# The seed's e-mail footer (guide, « Création du mot de passe – Accès à la plateforme »),
# « A bientôt » with its capital accent.
CLOSING = "À bientôt sur la Plateforme Employeurs Publics Pep's."
SIGNATURE_LINES = (
    "L'assistance technique de la Plateforme Employeurs Publics Pep's",
    "Direction des Retraites et de la Solidarité - Caisse des Dépôts",
)
PRIVACY_NOTICE = (
    "Notre politique de protection des données à caractère personnel évolue avec la "
    "nouvelle réglementation."
)
PRIVACY_LINK_TEXT = "Découvrez comment nous traitons vos données"
# The seed's link has no address, and a demo must never point at the real platform: a
# host names its page (the renderers' ``privacy_url``); without one, the line names the
# platform where the policy is published instead of a link.
PRIVACY_WITHOUT_URL = (
    "Découvrez comment nous traitons vos données sur la Plateforme Employeurs Publics Pep's."
)


def privacy_line(privacy_url: str | None) -> str:
    """The seed's last footer line, as text: with the host's page, or the platform named."""
    if privacy_url:
        return f"{PRIVACY_LINK_TEXT} : {privacy_url}"
    return PRIVACY_WITHOUT_URL


# Rule C9: who withdrew, as the ``withdrawn_by`` fact of the withdrawal e-mail holds it.
WITHDRAWN_BY_APPLICANT = "applicant"
WITHDRAWN_BY_LEGAL_REPRESENTATIVE = "legal_representative"
_WITHDRAWAL_SENTENCES = {
    WITHDRAWN_BY_APPLICANT: "Cette annulation fait suite à votre demande.",
    WITHDRAWN_BY_LEGAL_REPRESENTATIVE: (
        "Cette annulation a été demandée par le représentant légal de l'établissement."
    ),
}
# What outbox messages written before the codes hold (a French phrase).
_LEGACY_WITHDRAWN_BY = {
    "à votre demande": WITHDRAWN_BY_APPLICANT,
    "à la demande du représentant légal": WITHDRAWN_BY_LEGAL_REPRESENTATIVE,
}


def is_feminine(civility: Civility | None, formal_name: str = "") -> bool:
    """Whether the agreement is feminine: « Madame », else a formal name that starts with
    it (« Madame Jeanne Dupont »: what a notification written before the civilité was
    carried holds)."""
    if civility is not None:
        return civility is Civility.MRS
    return formal_name.startswith(f"{Civility.MRS.label} ")


def agreed(feminine: bool, masculine_form: str, feminine_form: str) -> str:
    """« informé » or « informée », « administrateur » or « administratrice »."""
    return feminine_form if feminine else masculine_form


def paris_date(moment: datetime) -> str:
    """JJ/MM/AAAA, the day in Paris."""
    return f"{moment.astimezone(PARIS):%d/%m/%Y}"


def paris_date_time(moment: datetime) -> str:
    """« 28/03/2024 à 10:30 (heure de Paris) »: the time a person reads, said in which zone."""
    local = moment.astimezone(PARIS)
    return f"{local:%d/%m/%Y} à {local:%H:%M} (heure de Paris)"


def withdrawal_sentence(withdrawn_by: str) -> str:
    """Rule C9: who asked for the withdrawal, in a sentence; nothing for an unknown value."""
    code = _LEGACY_WITHDRAWN_BY.get(withdrawn_by.strip(), withdrawn_by.strip())
    return _WITHDRAWAL_SENTENCES.get(code, "")
