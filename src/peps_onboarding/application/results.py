"""Typed results of the use cases, ready for a template or for JSON (see ``converter``)."""

from __future__ import annotations

from datetime import date, datetime

from attrs import field, frozen

from ..domain.errors import EstablishmentAlreadyEnrolledError, RegistrationInProgressError

__all__ = [
    "AccessLevelView",
    "AdministratorContact",
    "CreationLinkResent",
    "DeadLetter",
    "DispatchReport",
    "EstablishmentAlreadyEnrolled",
    "EstablishmentMembers",
    "EstablishmentNotEnrolled",
    "IdentificationResult",
    "IdentifierRecovered",
    "LoginSucceededResult",
    "MemberRow",
    "MembersList",
    "NetEntreprisesJoined",
    "NetEntreprisesLoggedIn",
    "NetEntreprisesSignInResult",
    "NetEntreprisesSignedIn",
    "PasswordCreated",
    "PasswordResetDone",
    "PasswordResetRequested",
    "RegistrationPending",
    "RegistrationSubmitted",
    "RegistrationWithdrawnResult",
    "SweepReport",
    "UserCreated",
]

SINGLE_ADMINISTRATOR_WARNING = (
    "Votre établissement n'a qu'un seul administrateur : nous vous recommandons d'en "
    "désigner au moins deux."
)
PASSWORD_RESET_REQUESTED_MESSAGE = (
    "Si cet identifiant correspond à un compte, un courriel vient de vous être envoyé avec un "
    "lien pour renouveler votre mot de passe. Vous avez 3 jours pour le faire."
)


@frozen(kw_only=True)
class EstablishmentNotEnrolled:
    """Step 1: the establishment can be registered; the applicant goes on to step 2."""

    siret: str
    designation: str
    proof: str = field(repr=False)  # C10: what the later steps require


@frozen(kw_only=True)
class EstablishmentAlreadyEnrolled:
    """Rule C2: the first administrators' names (never e-mail or phone)."""

    siret: str
    designation: str
    proof: str = field(repr=False)  # C10: what the later steps require
    administrators: tuple[str, ...]
    administrator_count: int
    message: str = EstablishmentAlreadyEnrolledError.message


@frozen(kw_only=True)
class RegistrationPending:
    """Rule C3: offer « Vous en envoyer un nouveau »."""

    siret: str
    designation: str
    proof: str = field(repr=False)  # C10: what the later steps require
    message: str = RegistrationInProgressError.message


IdentificationResult = EstablishmentNotEnrolled | EstablishmentAlreadyEnrolled | RegistrationPending


@frozen(kw_only=True)
class CreationLinkResent:
    """Rule C3. ``sent`` is False when the password already exists (no link to send)."""

    siret: str
    sent: bool


@frozen(kw_only=True)
class RegistrationSubmitted:
    """Rule C5: the identifier to show (printable, and spelled out to read aloud)."""

    siret: str
    designation: str
    identifier: str
    identifier_spelled: str
    access_from: date


@frozen(kw_only=True)
class PasswordCreated:
    """Rule C7."""

    identifier: str
    access_from: date
    access_open: bool
    message: str


@frozen(kw_only=True)
class NetEntreprisesSignedIn:
    """Rule N1–N4: who Net-Entreprises vouched for, and which account the form will create."""

    ticket: str
    ticket_expires_at: datetime
    siret: str
    designation: str
    last_name: str
    first_name: str
    profile: str  # "administrator" when the establishment is not enrolled (N4), else "user"


@frozen(kw_only=True)
class NetEntreprisesLoggedIn:
    """Rule N6: a holder of a Net-Entreprises account signs in through Net-Entreprises."""

    identifier: str
    siret: str
    profile: str


NetEntreprisesSignInResult = NetEntreprisesSignedIn | NetEntreprisesLoggedIn


@frozen(kw_only=True)
class NetEntreprisesJoined:
    identifier: str
    siret: str
    designation: str
    profile: str


@frozen(kw_only=True)
class AccessLevelView:
    service: str
    label: str
    level: str
    level_label: str


@frozen(kw_only=True)
class LoginSucceededResult:
    identifier: str
    siret: str
    profile: str
    rights: tuple[AccessLevelView, ...]
    expires_at: datetime


@frozen(kw_only=True)
class PasswordResetRequested:
    """Rule A5: the same answer whether or not the account exists."""

    message: str = PASSWORD_RESET_REQUESTED_MESSAGE


@frozen(kw_only=True)
class PasswordResetDone:
    identifier: str
    unblocked: bool


@frozen(kw_only=True)
class IdentifierRecovered:
    identifier: str


@frozen(kw_only=True)
class RegistrationWithdrawnResult:
    siret: str


@frozen(kw_only=True)
class UserCreated:
    identifier: str


@frozen(kw_only=True)
class MemberRow:
    """Rule R5: one row of « Mes intervenants »."""

    last_name: str
    first_name: str
    net_entreprises: bool
    identifier: str
    service: str
    profile: str
    status: str
    expires_on: date | None
    last_login_at: datetime | None


@frozen(kw_only=True)
class MembersList:
    siret: str
    designation: str
    members: tuple[MemberRow, ...]
    warning: str | None


@frozen(kw_only=True)
class SweepReport:
    """What one pass of the sweep (T1) changed; all zeros on a second pass at the same time."""

    registrations_lapsed: int = 0
    accounts_deleted: int = 0
    access_opened: int = 0
    accounts_expired: int = 0
    skipped: int = 0  # changed by a concurrent use case during the pass; the next pass retries

    @property
    def total(self) -> int:
        return (
            self.registrations_lapsed
            + self.accounts_deleted
            + self.access_opened
            + self.accounts_expired
        )


@frozen(kw_only=True)
class DispatchReport:
    """One dispatch round (M3): ``sent`` and ``failed`` count this round's deliveries,
    ``dead_lettered`` those of the failures that were given up on (permanently refused,
    or out of attempts); ``pending`` and ``dead`` are what the outbox holds afterwards:
    messages still owed, and dead letters waiting for an operator."""

    sent: int
    failed: int
    pending: int
    dead_lettered: int = 0
    dead: int = 0


@frozen(kw_only=True)
class DeadLetter:
    """Rule M3: a notification given up on, as an operator sees it (« outbox list »).

    The recipient is shown in full (the address, or the letter's addressee): it is what
    the operator must check or correct, and whoever may list dead letters can read the
    database anyway. ``last_error`` is a code and a short reason, never a body or a
    credential. Dates are aware, in UTC.
    """

    id: str  # what ``Platform.retry_dead_letters([...])`` takes
    kind: str  # ``EmailKind`` / ``LetterKind`` value
    kind_label: str  # « Courriel : lien de création du mot de passe »
    siret: str
    recipient: str
    attempts: int
    last_error: str | None
    created_at: datetime
    dead_at: datetime  # when it was given up on: its last attempt


@frozen(kw_only=True)
class AdministratorContact:
    """Rule R8: an administrator's professional contact details, as « Mes intervenants »
    shows them to every member, so that a user can ask for rights (never shown outside
    the establishment: R7 gives anonymous callers the names only)."""

    identifier: str
    civility: str  # « Madame », « Monsieur »
    last_name: str
    first_name: str
    formal_name: str  # « Madame Jeanne Dupont »
    email: str  # courriel
    phone: str  # téléphone fixe, « 05 56 11 41 23 »
    service: str  # service d'appartenance et/ou fonction
    status: str  # « Actif », « Bloqué », « Expiré »…: whether they can act now


@frozen(kw_only=True)
class EstablishmentMembers:
    """Rule R8: « Mon établissement > Mes intervenants », as any active member reads it.

    ``members`` has R5's columns (the rows of :class:`MembersList`); ``administrators``
    the contact details of each administrator who is neither deleted nor invalidated.
    ``viewer_is_administrator`` says whether the screen may offer R5's actions; reading
    this gives no right to them. ``message`` is the seed's line for the viewer: whom to
    contact for rights (a user), or what an administrator may do. ``warning`` is the
    single-administrator warning, for administrators only (a user cannot designate one).
    """

    siret: str
    designation: str
    viewer: str  # the identifier of the member reading
    viewer_is_administrator: bool
    members: tuple[MemberRow, ...]
    administrators: tuple[AdministratorContact, ...]
    message: str
    warning: str | None
