"""The words of the letter to the legal representative (M2, C9), in one place.

The plain-text copy (:func:`peps_onboarding.application.letters.letter_text`) and the
printed PDF (:mod:`peps_onboarding.adapters.pdf_letters`) both lay out the same
:class:`LetterWording`, so the two can never say different things: one salutation,
one withdrawal date said one way (« jusqu’au JJ/MM/AAAA inclus »), one closing.

Pure: dates come in as aware datetimes and are read in the zone given (Paris by
default, as the platform's calendar days are).

The salutation (« appel ») follows French administrative usage: the civilité and,
when the function is one of :data:`FUNCTIONS`, the function with its article, in
the form that agrees with the civilité (« Madame la Maire », « Monsieur le
Directeur », « Madame la Directrice générale »). A function outside that table
is not guessed at: the salutation is the civilité alone (« Madame, »), and with
no civilité, « Madame, Monsieur, ».
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from attrs import frozen

from .notifications import Letter, LetterKind, LetterNotification
from .values import Civility

__all__ = [
    "FUNCTIONS",
    "LetterWording",
    "WithdrawalWording",
    "closing",
    "ddmmyyyy",
    "letter_wording",
    "salutation",
    "withdrawal_until",
]

PARIS: Final = ZoneInfo("Europe/Paris")

# The functions a salutation names, each as (masculine, feminine) with its article.
# Either form, as typed (any case, accents or not), is recognised, and the form said
# is the one that agrees with the civilité: a woman whose title was typed
# « Directeur » is « Madame la Directrice ». « Maire » is the same word for both
# (« Madame la Maire », as the Académie and the Journal officiel now write it).
FUNCTIONS: Final[tuple[tuple[str, str], ...]] = (
    ("le Maire", "la Maire"),
    ("le Président", "la Présidente"),
    ("le Directeur", "la Directrice"),
    ("le Directeur général", "la Directrice générale"),
    ("le Directeur général des services", "la Directrice générale des services"),
    ("l’Administrateur", "l’Administratrice"),
    ("le Délégué général", "la Déléguée générale"),
    ("le Secrétaire général", "la Secrétaire générale"),
)

# What may follow a function in a title and still leave it the salutation's function:
# its complement (« Maire de Saint-Aubin », « Directeur du centre hospitalier »).
_COMPLEMENT: Final = re.compile(r"(?:de|du|des)\b|d'")  # apostrophes as _key leaves them


def _key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _without_article(form: str) -> str:
    return form.split(" ", 1)[1] if " " in form else form.removeprefix("l’")


def _function(title: str, civility: Civility) -> str | None:
    """The salutation's form of ``title`` (« la Maire »), or None when it is not known.

    The longest function the title starts with wins, provided the rest of the title is
    a complement (« Directeur général des services de la commune » is « le Directeur
    général des services »; « Directeur adjoint » is not known).
    """
    typed = _key(title)
    best: tuple[int, str] | None = None
    for masculine, feminine in FUNCTIONS:
        for form in (masculine, feminine):
            word = _key(_without_article(form))
            if typed == word or (
                typed.startswith(word + " ") and _COMPLEMENT.match(typed[len(word) + 1 :])
            ):
                said = feminine if civility is Civility.MRS else masculine
                if best is None or len(word) > best[0]:
                    best = (len(word), said)
    return best[1] if best else None


def salutation(civility: Civility | None, title: str = "") -> str:
    """How the letter addresses its recipient, without the comma: « Madame la Maire ».

    >>> salutation(Civility.MRS, "Maire")
    'Madame la Maire'
    >>> salutation(Civility.MR, "Directeur général")
    'Monsieur le Directeur général'
    >>> salutation(Civility.MRS, "Directeur général")
    'Madame la Directrice générale'
    >>> salutation(Civility.MRS, "Chargée de mission")
    'Madame'
    >>> salutation(None, "Maire")
    'Madame, Monsieur'
    """
    if civility is None:
        return "Madame, Monsieur"
    function = _function(title, civility) if title else None
    return f"{civility.label} {function}" if function else civility.label


def closing(civility: Civility | None, title: str = "") -> str:
    """The closing formula, the salutation repeated as French letters do."""
    return (
        f"Nous vous prions d’agréer, {salutation(civility, title)}, l’expression de nos "
        "salutations distinguées."
    )


def _day(moment: datetime, zone: ZoneInfo) -> date:
    if moment.tzinfo is None:
        raise ValueError("letter dates must be timezone-aware")
    return moment.astimezone(zone).date()


def ddmmyyyy(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def withdrawal_until(deadline: datetime, zone: ZoneInfo = PARIS) -> str:
    """Rule C9: « jusqu’au 20/03/2024 inclus » for a deadline at midnight starting 21/03.

    The deadline is day J (C5), the first instant access may open: the last whole day
    the representative can act on is the day before, and the letter says that day,
    inclusive, as an administrative letter does.
    """
    return f"jusqu’au {ddmmyyyy(_day(deadline - timedelta(microseconds=1), zone))} inclus"


def _agree(civility: Civility | None, masculine: str, feminine: str) -> str:
    return feminine if civility is Civility.MRS else masculine


@frozen(kw_only=True)
class WithdrawalWording:
    """Rule C9: how the legal representative withdraws the registration, and until when."""

    intro: str  # ends with « : », the steps follow
    url_step: str
    url: str | None
    code_step: str
    code: str | None
    confidentiality: str
    otherwise: str  # what happens without a withdrawal (tacit acceptance)


@frozen(kw_only=True)
class LetterWording:
    """Everything the letter says, in order; each adapter only lays it out."""

    subject: str
    salutation: str  # with its comma: « Madame la Maire, »
    opening: str  # ends with « : », the facts follow
    facts: tuple[tuple[str, str], ...]  # (label, value), as typed
    withdrawal: WithdrawalWording | None  # classic path only
    information: str | None  # Net-Entreprises path only
    closing: str


SUBJECT: Final = "Inscription de votre établissement à la Plateforme Employeurs Publics (PEP’s)"


def letter_wording(
    letter: Letter | LetterNotification,
    *,
    withdrawal_url: str | None,
    withdrawal_code: str | None,
    zone: ZoneInfo = PARIS,
) -> LetterWording:
    """Rules M2, C9: who registered, when, which establishment, and (classic path) how
    to withdraw until day J; the salutation from the representative's civilité and
    function; the applicant's words agreeing with the applicant's civilité."""
    registered_on = ddmmyyyy(_day(letter.registered_at, zone))
    applicant = letter.applicant_name
    he = letter.applicant_civility
    administrator = _agree(he, "administrateur", "administratrice")
    facts = (
        ("Établissement", letter.designation),
        ("SIRET", letter.siret),
        (_agree(he, "Demandeur", "Demandeuse"), applicant),
        ("Fonction", letter.applicant_function),
        ("Courriel", letter.applicant_email),
        ("Date de la demande", registered_on),
    )
    withdrawal = None
    information = None
    if letter.kind is LetterKind.CLASSIC_ENROLMENT:
        if letter.withdrawal_deadline is None:
            raise ValueError("a classic enrolment letter needs its withdrawal deadline")
        opening = (
            f"Le {registered_on}, {applicant} a demandé l’inscription de votre établissement à "
            "la Plateforme Employeurs Publics (PEP’s) de la Caisse des Dépôts et sa désignation "
            f"comme {administrator} des comptes de l’établissement :"
        )
        withdrawal = WithdrawalWording(
            intro=(
                "Si vous ne souhaitez pas que votre établissement soit inscrit, vous pouvez "
                "demander sa désinscription "
                f"{withdrawal_until(letter.withdrawal_deadline, zone)} :"
            ),
            url_step="rendez-vous à l’adresse suivante :",
            url=withdrawal_url,
            code_step="puis saisissez le code de désinscription :",
            code=withdrawal_code,
            confidentiality=(
                "Ce code est confidentiel : ne le communiquez qu’à une personne habilitée à "
                "agir au nom de l’établissement."
            ),
            # The seed: « En l'absence de retour du représentant légal de l'Établissement
            # […], ce dernier reconnaît : Valider l'inscription […], accepter tacitement
            # les Conditions Générales ; Vous donner la qualité d'Administrateur pour le
            # compte de l'Établissement », after « 8 jours calendaires à compter du jour
            # de la demande d'inscription ».
            otherwise=(
                "En l’absence de demande de désinscription dans ce délai de 8 jours "
                "calendaires à compter du jour de la demande, l’inscription sera validée : "
                "les Conditions Générales d’Utilisation de la plateforme seront tacitement "
                f"acceptées et {applicant} aura la qualité d’{administrator} pour le compte "
                "de votre établissement."
            ),
        )
    else:
        opening = (
            f"Le {registered_on}, {applicant} a inscrit votre établissement à la Plateforme "
            "Employeurs Publics (PEP’s) de la Caisse des Dépôts, avec ses identifiants "
            f"Net-Entreprises, et en est désormais {administrator} des comptes :"
        )
        information = (
            "Une inscription faite avec des identifiants Net-Entreprises est effective dès à "
            "présent. Ce courrier vous est adressé pour information ; aucune démarche n’est "
            "attendue de votre part."
        )
    return LetterWording(
        subject=f"Objet : {SUBJECT}",
        salutation=f"{salutation(letter.recipient_civility, letter.recipient_title)},",
        opening=opening,
        facts=facts,
        withdrawal=withdrawal,
        information=information,
        closing=closing(letter.recipient_civility, letter.recipient_title),
    )
