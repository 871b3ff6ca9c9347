"""Typed results of the use cases, ready for a template or for JSON (see ``converter``)."""

from __future__ import annotations

from datetime import date, datetime

from attrs import Factory, field, frozen

from ..domain.account import Profile
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
    "password_created_message",
]

SINGLE_ADMINISTRATOR_WARNING = (
    "Votre établissement n'a qu'un seul administrateur : nous vous recommandons d'en "
    "désigner au moins deux."
)
SPAM_REMINDER = (
    "Pensez à vérifier dans vos spams / courriels indésirables en cas de non-réception du courriel."
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
    # the guide's step-1 outcome: « Votre établissement n'est pas inscrit ... le parcours
    # affiché (étapes 2 & 3) vous permettra de procéder : »
    message: str = (
        "Votre établissement n'est pas inscrit. Les étapes 2 et 3 vous permettront de "
        "procéder à son inscription et à la création de votre compte avec un profil "
        "administrateur."
    )


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


def _profile_label(
    result: NetEntreprisesSignedIn
    | NetEntreprisesLoggedIn
    | NetEntreprisesJoined
    | LoginSucceededResult,
) -> str:
    """Rule R1: « Administrateur » / « Utilisateur », the members list's label."""
    return Profile(result.profile).label


def _resent_message(result: CreationLinkResent) -> str:
    if result.sent:
        return (
            "Un nouveau courriel vous a été envoyé afin de créer votre mot de passe ; le "
            f"lien du courriel précédent ne fonctionne plus. {SPAM_REMINDER}"
        )
    return (
        "Le mot de passe de ce compte a déjà été créé : aucun nouveau courriel n'est "
        "nécessaire. Nous vous informons par courriel dès que vous pourrez accéder à votre "
        "espace."
    )


@frozen(kw_only=True)
class CreationLinkResent:
    """Rule C3. ``sent`` is False when the password already exists (no link to send)."""

    siret: str
    sent: bool
    message: str = Factory(_resent_message, takes_self=True)


@frozen(kw_only=True)
class RegistrationSubmitted:
    """Rule C5: the identifier to show (printable, and spelled out to read aloud)."""

    siret: str
    designation: str
    identifier: str
    identifier_spelled: str
    access_from: date
    message: str = Factory(lambda self: _submitted_message(self), takes_self=True)


def _submitted_message(result: RegistrationSubmitted) -> str:
    """The seed's step 3, with the date instead of « 8 jours après l'inscription », and
    « nous vous informerons » where the seed's « vous serez informé » would need the
    civilité the result does not carry."""
    return (
        f"Votre identifiant de connexion est {result.identifier}. Un courriel vous est "
        f"envoyé afin de créer votre mot de passe. {SPAM_REMINDER} Le "
        f"{result.access_from:%d/%m/%Y}, nous vous informerons par courriel de la mise en "
        "place de vos accès aux services de la plateforme. Vous pourrez vous connecter dès "
        "la réception de ce courriel."
    )


@frozen(kw_only=True)
class PasswordCreated:
    """Rule C7."""

    identifier: str
    access_from: date
    access_open: bool
    message: str


def password_created_message(access_from: date, *, access_open: bool) -> str:
    """Rule C7: the seed's confirmation, or, once access is open (C8), « dès maintenant »."""
    if access_open:
        return (
            "Votre mot de passe a bien été créé. Vous pouvez dès maintenant accéder à "
            "l'ensemble des services de la Plateforme Employeurs Publics."
        )
    return (
        "Votre mot de passe a bien été créé. Vous pourrez accéder à l'ensemble des services "
        f"de la Plateforme Employeurs Publics à compter du {access_from:%d/%m/%Y}."
    )


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
    profile_label: str = Factory(_profile_label, takes_self=True)  # « Administrateur »


@frozen(kw_only=True)
class NetEntreprisesLoggedIn:
    """Rule N6: a holder of a Net-Entreprises account signs in through Net-Entreprises."""

    identifier: str
    siret: str
    profile: str  # a ``Profile`` value, for code
    profile_label: str = Factory(_profile_label, takes_self=True)  # for a person


NetEntreprisesSignInResult = NetEntreprisesSignedIn | NetEntreprisesLoggedIn


@frozen(kw_only=True)
class NetEntreprisesJoined:
    identifier: str
    siret: str
    designation: str
    profile: str  # a ``Profile`` value, for code
    profile_label: str = Factory(_profile_label, takes_self=True)  # for a person
    message: str = Factory(lambda self: _joined_message(self), takes_self=True)


def _joined_message(result: NetEntreprisesJoined) -> str:
    """Rules N3, N4: the seed's « Dès le clic sur le bouton « confirmer » »."""
    if result.profile == Profile.ADMINISTRATOR.value:
        return (
            f"Votre compte administrateur PEP's (identifiant {result.identifier}) est créé et "
            f"l'établissement {result.designation} est inscrit : vous avez accès à PEP's. Un "
            "courrier est envoyé au représentant légal de l'établissement pour l'informer de "
            "son inscription à PEP's."
        )
    return (
        f"Votre compte utilisateur PEP's (identifiant {result.identifier}) est créé : vous "
        "avez accès à PEP's dans la limite des habilitations attribuées (habilitations par "
        "défaut). Un courriel est envoyé aux administrateurs de votre établissement, qui "
        "peuvent vous attribuer les droits d'accès aux services."
    )


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
    profile: str  # a ``Profile`` value, for code
    rights: tuple[AccessLevelView, ...]
    expires_at: datetime
    profile_label: str = Factory(_profile_label, takes_self=True)  # « Administrateur »


@frozen(kw_only=True)
class PasswordResetRequested:
    """Rule A5: the same answer whether or not the account exists."""

    message: str = PASSWORD_RESET_REQUESTED_MESSAGE


def _reset_done_message(result: PasswordResetDone) -> str:
    unblocked = " et votre compte est débloqué" if result.unblocked else ""
    return (
        f"Votre mot de passe a bien été renouvelé{unblocked}. Vous pouvez dès maintenant "
        "vous connecter avec votre nouveau mot de passe."
    )


@frozen(kw_only=True)
class PasswordResetDone:
    """Rule A5: a new password, and a blocked account unblocked."""

    identifier: str
    unblocked: bool
    message: str = Factory(_reset_done_message, takes_self=True)


@frozen(kw_only=True)
class IdentifierRecovered:
    """Rule A6: the identifier on screen, as the FAQ says (« faites une capture écran »)."""

    identifier: str
    message: str = Factory(
        lambda self: (
            f"Votre identifiant est {self.identifier}. Faites une capture d'écran pour ne plus "
            "l'oublier."
        ),
        takes_self=True,
    )


def _withdrawn_message(result: RegistrationWithdrawnResult) -> str:
    told = (
        "Le demandeur en est informé par courriel."
        if result.by_legal_representative
        else "Un courriel vous le confirme."
    )
    return (
        "L'inscription de l'établissement à la Plateforme Employeurs Publics Pep's est "
        f"annulée et le compte en attente d'activation est supprimé. {told}"
    )


@frozen(kw_only=True)
class RegistrationWithdrawnResult:
    """Rule C9: the registration is withdrawn, by the applicant or the legal representative."""

    siret: str
    by_legal_representative: bool = False
    message: str = Factory(_withdrawn_message, takes_self=True)


@frozen(kw_only=True)
class UserCreated:
    """Rule R5: an administrator created a user account."""

    identifier: str
    message: str = Factory(
        lambda self: (
            f"Le compte {self.identifier} est créé. Un courriel est envoyé à son titulaire "
            "afin de créer son mot de passe."
        ),
        takes_self=True,
    )


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
    #: For code (the labels above are for people): an ``AccountState`` and a ``Profile``
    #: value, so a screen offers only the actions that apply.
    state: str = ""
    profile_code: str = ""
    #: Rule R3, in the administrators' view only (``list_members``).
    rights: tuple[AccessLevelView, ...] = ()


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
