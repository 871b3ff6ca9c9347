"""One error hierarchy: every error has a stable machine ``code`` and a French ``message``.

Hosts switch on ``code`` and show ``text`` (``message``, completed by the error's typed
fields where it has any). Below :class:`OnboardingError` sit a few families: a form
that does not validate, a rule that forbids the action, something that does not exist,
a conflict between concurrent actions, and an outside service that is unavailable.

The texts are typeset as the letter is: a no-break space (U+00A0) before « : ; ? ! »
and inside « », and inside a phone number, so that a screen never breaks a line there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import ClassVar

from attrs import frozen

__all__ = [
    "NET_ENTREPRISES_ASSISTANCE",
    "AccessNotYetOpenError",
    "AccountBlockedError",
    "AccountNotFoundError",
    "AccountStateForbidsLoginError",
    "CaptchaFailedError",
    "CaptchaUnavailableError",
    "ConcurrentUpdateError",
    "ConflictError",
    "DirectoryUnavailableError",
    "EstablishmentAlreadyEnrolledError",
    "EstablishmentClosedError",
    "FieldError",
    "IdentifierNotFoundError",
    "InvalidCredentialsError",
    "LastAdministratorError",
    "LegalCategoryNotEligibleError",
    "LinkNoLongerValidError",
    "NetEntreprisesAccountBlockedError",
    "NetEntreprisesAccountError",
    "NetEntreprisesAccountExistsError",
    "NetEntreprisesNotRegisteredError",
    "NetEntreprisesPasswordExpiredError",
    "NetEntreprisesRefusedError",
    "NetEntreprisesTicketInvalidError",
    "NetEntreprisesTicketUsedError",
    "NetEntreprisesUnavailableError",
    "NotFoundError",
    "NotificationDeliveryError",
    "NotificationRefusedError",
    "OnboardingError",
    "PermissionDeniedError",
    "RegistrationInProgressError",
    "RuleViolationError",
    "ServiceUnavailableError",
    "StepOneRequiredError",
    "ThrottleUnavailableError",
    "TooManyAttemptsError",
    "TransitionNotAllowedError",
    "UnknownEstablishmentError",
    "UnknownSiretError",
    "ValidationError",
]


_NBSP = "\u00a0"

NET_ENTREPRISES_ASSISTANCE = (
    f"Besoin d'aide{_NBSP}? Contactez l'assistance Net-Entreprises au "
    f"0{_NBSP}820{_NBSP}000{_NBSP}516 ou via leur site internet."
)
"""The seed's help line under a Net-Entreprises refusal (« Se connecter avec
Net-Entreprises »), which every refusal of the person's Net-Entreprises account ends with."""


class OnboardingError(Exception):
    """Root of every error the library raises on purpose."""

    code: ClassVar[str] = "onboarding.error"
    message: ClassVar[str] = "Une erreur est survenue."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.message)

    @property
    def text(self) -> str:
        """The French text to show; subclasses with typed fields complete it."""
        return self.message


@frozen
class FieldError:
    """One field's problem: a stable code and the French message for the screen."""

    code: str
    message: str


class ValidationError(OnboardingError):
    """A form with one or more wrong fields. Every field error comes at once (C4)."""

    code = "validation.invalid_fields"
    message = "Certains champs sont incorrects."

    def __init__(self, fields: Mapping[str, FieldError]) -> None:
        self.fields: Mapping[str, FieldError] = dict(fields)
        super().__init__(f"{self.message} ({', '.join(sorted(self.fields))})")

    @property
    def messages(self) -> dict[str, str]:
        """Field name → French message, ready for a template."""
        return {name: error.message for name, error in self.fields.items()}


# --- rules ---------------------------------------------------------------------------


class RuleViolationError(OnboardingError):
    """The action is well formed but a rule of the spec forbids it."""

    code = "rule.violated"


class CaptchaFailedError(RuleViolationError):
    """Rule C1: a failed security check says nothing about the establishment."""

    code = "captcha.failed"
    message = "Le contrôle de sécurité n'est pas valide. Veuillez recommencer."


class UnknownEstablishmentError(RuleViolationError):
    """Rule E2: one generic error that does not say which of SIRET or contract is wrong."""

    code = "establishment.unknown"
    message = (
        "Nous ne trouvons pas d'établissement correspondant à ce SIRET et à ce numéro de "
        "contrat. Veuillez vérifier les informations saisies."
    )


class EstablishmentClosedError(RuleViolationError):
    """Rule E4: a closed establishment (or ceased legal unit) can never be enrolled."""

    code = "establishment.closed"
    message = (
        f"Cet établissement est fermé (ou son unité légale a cessé son activité){_NBSP}: "
        "il ne peut pas être inscrit à PEP's."
    )


class LegalCategoryNotEligibleError(RuleViolationError):
    """Rule E4: the legal category does not give access to PEP's."""

    code = "establishment.legal_category_not_eligible"
    message = (
        "Votre établissement ne peut pas disposer d'un accès à PEP's en raison de sa "
        "catégorie juridique."
    )

    def __init__(self, legal_category: str) -> None:
        self.legal_category = legal_category
        super().__init__(f"{self.message} (catégorie juridique {legal_category})")


class EstablishmentAlreadyEnrolledError(RuleViolationError):
    """Rule C2."""

    code = "establishment.already_enrolled"
    message = "L'établissement est déjà inscrit. Vous ne pouvez pas effectuer son inscription."


class RegistrationInProgressError(RuleViolationError):
    """Rules C3 and N5."""

    code = "establishment.registration_in_progress"
    message = "Votre établissement est en cours d'inscription."


class LinkNoLongerValidError(RuleViolationError):
    """Rules C6 and A8: expired, used or replaced link. Carries the administrators' names."""

    code = "link.no_longer_valid"
    message = "Ce lien n'est plus valide."

    def __init__(self, administrators: tuple[str, ...] = ()) -> None:
        self.administrators = administrators
        super().__init__(self.message)


class InvalidCredentialsError(RuleViolationError):
    """Rule A4: the same error for a wrong password and an unknown identifier."""

    code = "login.invalid_credentials"
    message = "Identifiant ou mot de passe incorrect."


class AccountBlockedError(RuleViolationError):
    """Rule A4: blocked after consecutive failures; points to « Mot de passe oublié »."""

    code = "login.account_blocked"
    message = (
        "Votre compte est bloqué à la suite de plusieurs tentatives de connexion "
        f"infructueuses. Pour le débloquer, cliquez sur «{_NBSP}Mot de passe oublié{_NBSP}» "
        "puis suivez les indications."
    )


class AccountStateForbidsLoginError(RuleViolationError):
    """Rule A4: expired or not yet activated."""

    code = "login.account_state"
    message = "L'état de votre compte ne permet pas votre connexion."


class AccessNotYetOpenError(RuleViolationError):
    """Rule C8: the password exists but day J has not come."""

    code = "login.access_not_yet_open"
    message = "Votre accès à la Plateforme Employeurs Publics n'est pas encore ouvert."

    def __init__(self, access_from: date) -> None:
        self.access_from = access_from
        super().__init__(self.text)

    @property
    def text(self) -> str:
        return (
            "Vous pourrez accéder à l'ensemble des services de la Plateforme Employeurs "
            f"Publics à compter du {self.access_from:%d/%m/%Y}."
        )


class IdentifierNotFoundError(RuleViolationError):
    """Rule A6: one generic message when the details match no single account."""

    code = "identifier.not_found"
    message = (
        "Nous ne pouvons pas retrouver votre identifiant avec les informations saisies. "
        "Rapprochez-vous d'un administrateur de votre établissement."
    )


class LastAdministratorError(RuleViolationError):
    """Rule E5: the last administrator cannot be removed, demoted or invalidated."""

    code = "account.last_administrator"
    message = (
        f"Cette action est impossible{_NBSP}: l'établissement doit toujours avoir au moins un "
        "administrateur."
    )


class PermissionDeniedError(RuleViolationError):
    """Rule R6: users administer nothing; administrators only their own establishment."""

    code = "account.permission_denied"
    message = "Vous n'avez pas les droits nécessaires pour effectuer cette action."


class TooManyAttemptsError(RuleViolationError):
    """Rule P1: a limit was reached; nothing was stored, sent or checked."""

    code = "throttled"
    message = "Trop de tentatives. Veuillez réessayer plus tard."

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        super().__init__(self.text)

    @property
    def minutes(self) -> int:
        """The wait, in whole minutes rounded up (at least one)."""
        seconds = max(1, int(-(-self.retry_after.total_seconds() // 1)))
        return -(-seconds // 60)

    @property
    def text(self) -> str:
        unit = "minute" if self.minutes == 1 else "minutes"
        return f"Trop de tentatives. Veuillez réessayer dans {self.minutes} {unit}."


class StepOneRequiredError(RuleViolationError):
    """Rule C10: the later steps act only on a pair that passed step 1 shortly before."""

    code = "registration.step_one_required"
    message = (
        f"Votre saisie a expiré. Veuillez recommencer l'inscription à l'étape 1{_NBSP}: "
        "saisissez à nouveau le SIRET et le numéro de contrat, puis répondez au contrôle de "
        "sécurité."
    )


class TransitionNotAllowedError(RuleViolationError):
    """Rules E3 and A2: the spec has no such transition from the current state."""

    code = "state.transition_not_allowed"
    message = "Cette action n'est pas possible dans l'état actuel."

    def __init__(self, state: str, action: str) -> None:
        self.state = state
        self.action = action
        super().__init__(f"{self.message} ({action} depuis l'état {state})")


class UnknownSiretError(UnknownEstablishmentError):
    """Rules N2, E4: the Net-Entreprises path asks no contract number, so it never speaks
    of one. Net-Entreprises vouched for the person on this SIRET before the directory is
    asked (N1 first), so saying that the SIRET is unknown reveals nothing to anyone who
    could not sign in there. Caught with :class:`UnknownEstablishmentError`."""

    code = "establishment.unknown_siret"
    message = (
        "Nous ne trouvons pas d'établissement correspondant à ce SIRET. Veuillez vérifier le "
        "SIRET saisi."
    )


class NetEntreprisesAccountError(RuleViolationError):
    """Rule N1: Net-Entreprises refused the person's account. Only Net-Entreprises can
    help, so each message ends with the seed's help line, also on its own in
    ``assistance`` for a screen that links the number."""

    code = "net_entreprises.account_refused"
    message = f"Net-Entreprises n'a pas accepté votre identification. {NET_ENTREPRISES_ASSISTANCE}"
    assistance: ClassVar[str] = NET_ENTREPRISES_ASSISTANCE


class NetEntreprisesRefusedError(NetEntreprisesAccountError):
    """Rule N1: never says which field was wrong; the seed's message, word for word."""

    code = "net_entreprises.refused"
    message = (
        "Nous n'avons pas réussi à vous identifier. Veuillez vérifier les informations "
        f"saisies. {NET_ENTREPRISES_ASSISTANCE}"
    )


class NetEntreprisesAccountBlockedError(NetEntreprisesAccountError):
    """Rule N1: Net-Entreprises blocked the account on its side."""

    code = "net_entreprises.account_blocked"
    message = f"Votre compte Net-Entreprises est bloqué. {NET_ENTREPRISES_ASSISTANCE}"


class NetEntreprisesPasswordExpiredError(NetEntreprisesAccountError):
    """Rule N1: the Net-Entreprises password has expired on its side."""

    code = "net_entreprises.password_expired"
    message = (
        "Votre mot de passe Net-Entreprises a expiré. Veuillez le renouveler sur le site "
        f"Net-Entreprises. {NET_ENTREPRISES_ASSISTANCE}"
    )


class NetEntreprisesNotRegisteredError(NetEntreprisesAccountError):
    """Rule N1: the person's Net-Entreprises account is not registered for the service.
    Said of the account (« inscrit » agrees with it), since the sign-in knows no civilité."""

    code = "net_entreprises.not_registered"
    message = (
        "Votre compte Net-Entreprises n'est pas inscrit au service utilisé par la Plateforme "
        "Employeurs Publics. Veuillez vous inscrire à ce service depuis votre espace "
        f"Net-Entreprises. {NET_ENTREPRISES_ASSISTANCE}"
    )


class NetEntreprisesTicketInvalidError(RuleViolationError):
    """The sign-in ticket given to complete a Net-Entreprises enrolment is forged or stale."""

    code = "net_entreprises.ticket_invalid"
    message = "Votre session Net-Entreprises a expiré. Veuillez vous identifier à nouveau."


class NetEntreprisesTicketUsedError(RuleViolationError):
    """Rule N3/N4: a Net-Entreprises sign-in ticket makes one account; this one already did."""

    code = "net_entreprises.ticket_used"
    message = (
        "Votre inscription avec Net-Entreprises est déjà enregistrée. Identifiez-vous à "
        "nouveau avec Net-Entreprises pour accéder à la plateforme."
    )


class NetEntreprisesAccountExistsError(RuleViolationError):
    """Rule N6: this person already has a Net-Entreprises account on this establishment."""

    code = "net_entreprises.account_exists"
    message = (
        "Vous avez déjà un compte pour cet établissement. Identifiez-vous avec "
        "Net-Entreprises pour y accéder."
    )


# --- not found, conflicts, outside services ------------------------------------------


class NotFoundError(OnboardingError):
    code = "not_found"
    message = "Élément introuvable."


class AccountNotFoundError(NotFoundError):
    code = "account.not_found"
    message = "Ce compte est introuvable."


class ConflictError(OnboardingError):
    """Two actions raced on the same thing; the caller may retry the whole use case."""

    code = "conflict"
    message = "Une autre opération est en cours sur ces données. Veuillez réessayer."


class ConcurrentUpdateError(ConflictError):
    """A record changed between its read and its write (optimistic version check)."""

    code = "conflict.concurrent_update"


class ServiceUnavailableError(OnboardingError):
    code = "service.unavailable"
    message = "Service momentanément indisponible. Veuillez réessayer plus tard."


class NetEntreprisesUnavailableError(ServiceUnavailableError):
    """Rule N1: unreachable is never reported as wrong credentials."""

    code = "net_entreprises.unavailable"
    message = (
        "Le service Net-Entreprises est momentanément indisponible. Veuillez réessayer plus tard."
    )


class CaptchaUnavailableError(ServiceUnavailableError):
    """Rule C1: the security check's service (CaptchEtat) cannot be reached; never
    reported as a failed check."""

    code = "captcha.unavailable"
    message = (
        "Le contrôle de sécurité est momentanément indisponible. Veuillez réessayer plus tard."
    )


class DirectoryUnavailableError(ServiceUnavailableError):
    code = "directory.unavailable"
    message = (
        "Le répertoire des établissements est momentanément indisponible. Veuillez réessayer "
        "plus tard."
    )


class ThrottleUnavailableError(ServiceUnavailableError):
    """Rule P1 fails closed: when the rate limits cannot be counted (their storage is
    unreachable), the request is refused rather than let through unlimited."""

    code = "throttle.unavailable"
    message = "Service momentanément indisponible. Veuillez réessayer dans quelques instants."


class NotificationDeliveryError(ServiceUnavailableError):
    """A mailer or letter sender failed; the outbox keeps the notification and retries."""

    code = "notification.delivery_failed"
    message = f"L'envoi de la notification a échoué{_NBSP}; une nouvelle tentative aura lieu."


class NotificationRefusedError(NotificationDeliveryError):
    """Rule M3: the mailer or letter service refused this notification for good (an SMTP
    5xx on the recipient or the message, an address the relay cannot take): retrying it
    would fail the same way, so the outbox makes it a dead letter at once."""

    code = "notification.refused"
    message = (
        f"La notification a été refusée définitivement{_NBSP}; elle ne sera pas envoyée de nouveau."
    )
