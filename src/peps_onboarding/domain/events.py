"""Domain events: every state change is a fact, named in the past tense (rule L1).

Each event says what happened, when, to which establishment and account, and who
acted (an account identifier, or one of the :class:`Actor` roles).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Final

from attrs import frozen

__all__ = [
    "ALL_EVENTS",
    "AccessOpened",
    "AccountActivated",
    "AccountBlocked",
    "AccountCreated",
    "AccountDeleted",
    "AccountExpired",
    "AccountInvalidated",
    "AccountRenewed",
    "AccountUnblocked",
    "Actor",
    "AssistanceGiven",
    "DomainEvent",
    "EstablishmentEnrolled",
    "LinkIssued",
    "LoginFailed",
    "LoginSucceeded",
    "PasswordReset",
    "ProfileChanged",
    "RegistrationLapsed",
    "RegistrationSubmitted",
    "RegistrationWithdrawn",
    "RightChanged",
]


class Actor:
    """Who acted, when it is not an account: roles written into ``DomainEvent.actor``."""

    SYSTEM: Final = "system"
    LEGAL_REPRESENTATIVE: Final = "legal_representative"
    ANONYMOUS: Final = "anonymous"
    # R9: a support operator is written "operator:<name>". The colon never occurs in an
    # identifier (A1) nor in the roles above, so an operator is never read as an account.
    OPERATOR_PREFIX: Final = "operator:"
    # The stores keep an actor in 40 characters: the name gets what the prefix leaves.
    OPERATOR_MAX_LENGTH: Final = 40 - len(OPERATOR_PREFIX)

    @staticmethod
    def operator(name: str) -> str:
        """Rule R9: the actor of what a support operator did (the host authenticated them).

        ``name`` is already checked at the edge; a blank, overlong or non-printable name
        is refused here too, so that no event can carry an actor the stores would cut.
        """
        if not name or len(name) > Actor.OPERATOR_MAX_LENGTH or not name.isprintable():
            raise ValueError("an operator name is 1 to 31 printable characters")
        return Actor.OPERATOR_PREFIX + name

    @staticmethod
    def operator_of(actor: str) -> str | None:
        """The operator's name when ``actor`` is one (R9), else None (an account, a role)."""
        if actor.startswith(Actor.OPERATOR_PREFIX):
            return actor[len(Actor.OPERATOR_PREFIX) :]
        return None


@frozen(kw_only=True)
class DomainEvent:
    kind: ClassVar[str] = "event"
    at: datetime
    siret: str
    account: str | None = None
    actor: str = Actor.SYSTEM


@frozen(kw_only=True)
class RegistrationSubmitted(DomainEvent):
    """E3 NOT_ENROLLED → PENDING (C5)."""

    kind = "registration_submitted"
    access_from: datetime


@frozen(kw_only=True)
class RegistrationWithdrawn(DomainEvent):
    """E3 PENDING → NOT_ENROLLED (C9)."""

    kind = "registration_withdrawn"


@frozen(kw_only=True)
class RegistrationLapsed(DomainEvent):
    """E3 PENDING → NOT_ENROLLED: the creation link expired unused (C6)."""

    kind = "registration_lapsed"


@frozen(kw_only=True)
class AccessOpened(DomainEvent):
    """E3 PENDING → ENROLLED on day J (C8)."""

    kind = "access_opened"


@frozen(kw_only=True)
class EstablishmentEnrolled(DomainEvent):
    """E3 NOT_ENROLLED → ENROLLED at once, through Net-Entreprises (N4)."""

    kind = "establishment_enrolled"


@frozen(kw_only=True)
class AccountCreated(DomainEvent):
    kind = "account_created"
    profile: str
    state: str
    net_entreprises: bool


@frozen(kw_only=True)
class AccountActivated(DomainEvent):
    """A2 « En attente d'activation » → « Actif »: the password was created (C7)."""

    kind = "account_activated"


@frozen(kw_only=True)
class LoginSucceeded(DomainEvent):
    kind = "login_succeeded"


@frozen(kw_only=True)
class LoginFailed(DomainEvent):
    kind = "login_failed"
    consecutive_failures: int


@frozen(kw_only=True)
class AccountBlocked(DomainEvent):
    """A2 « Actif » → « Bloqué »."""

    kind = "account_blocked"


@frozen(kw_only=True)
class AccountUnblocked(DomainEvent):
    """A2 « Bloqué » → « Actif » (password reset, or an administrator)."""

    kind = "account_unblocked"


@frozen(kw_only=True)
class PasswordReset(DomainEvent):
    kind = "password_reset"


@frozen(kw_only=True)
class AccountExpired(DomainEvent):
    """A2 « Actif » → « Expiré » (A7)."""

    kind = "account_expired"


@frozen(kw_only=True)
class AccountRenewed(DomainEvent):
    """A2 « Expiré » → « Actif » (A7)."""

    kind = "account_renewed"
    expires_at: datetime


@frozen(kw_only=True)
class AccountDeleted(DomainEvent):
    """A2 any state → deleted (creation link expired, withdrawal)."""

    kind = "account_deleted"
    reason: str


@frozen(kw_only=True)
class AccountInvalidated(DomainEvent):
    """A2 any state → invalidated by an administrator (« infirmer »)."""

    kind = "account_invalidated"


@frozen(kw_only=True)
class RightChanged(DomainEvent):
    kind = "right_changed"
    service: str
    level: str


@frozen(kw_only=True)
class ProfileChanged(DomainEvent):
    kind = "profile_changed"
    profile: str


@frozen(kw_only=True)
class LinkIssued(DomainEvent):
    """A password-creation, reset or withdrawal link was issued (older ones revoked, A8)."""

    kind = "link_issued"
    purpose: str
    expires_at: datetime


@frozen(kw_only=True)
class AssistanceGiven(DomainEvent):
    """R9: a support operator (``actor``, see :meth:`Actor.operator`) acted on an account
    of any establishment, for ``reason``. The change itself follows as its own event
    (AccountRenewed, AccountUnblocked, LinkIssued), by the same actor (L1)."""

    kind = "assistance_given"
    RENEW: ClassVar[str] = "renew"
    UNBLOCK: ClassVar[str] = "unblock"
    RESEND_CREATION_LINK: ClassVar[str] = "resend_creation_link"
    action: str
    reason: str


ALL_EVENTS: tuple[type[DomainEvent], ...] = (
    RegistrationSubmitted,
    RegistrationWithdrawn,
    RegistrationLapsed,
    AccessOpened,
    EstablishmentEnrolled,
    AccountCreated,
    AccountActivated,
    LoginSucceeded,
    LoginFailed,
    AccountBlocked,
    AccountUnblocked,
    PasswordReset,
    AccountExpired,
    AccountRenewed,
    AccountDeleted,
    AccountInvalidated,
    RightChanged,
    ProfileChanged,
    LinkIssued,
    AssistanceGiven,
)
