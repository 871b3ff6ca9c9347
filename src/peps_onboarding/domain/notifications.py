"""What the platform owes people: e-mails (M1) and postal letters (M2).

A use case records these in the outbox with its state change (M3); the dispatcher
renders and delivers them later. Links inside are *sealed*: the outbox keeps only a
random nonce, and the raw token is derived from it with the platform's secret at
delivery, so no raw token is ever at rest (M4).
"""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import evolve, frozen

from .errors import TransitionNotAllowedError
from .links import LinkPurpose

__all__ = [
    "EmailKind",
    "EmailMessage",
    "EmailNotification",
    "Letter",
    "LetterKind",
    "LetterNotification",
    "Notification",
    "OutboxMessage",
    "SealedLink",
]


class EmailKind(enum.Enum):
    PASSWORD_CREATION = "password_creation"  # C5, R5: 15-day link
    NEW_NET_ENTREPRISES_USER = "new_net_entreprises_user"  # N3: to every administrator
    ACCESS_OPEN = "access_open"  # C8: day J
    PASSWORD_RESET = "password_reset"  # A5: 3-day link
    REGISTRATION_WITHDRAWN = "registration_withdrawn"  # C9

    @property
    def carries_link(self) -> bool:
        """Whether the e-mail exists to give a single-use link (C5, R5, A5): rendering
        one without its link is a wiring error, not a useless e-mail."""
        return self in {EmailKind.PASSWORD_CREATION, EmailKind.PASSWORD_RESET}


class LetterKind(enum.Enum):
    CLASSIC_ENROLMENT = "classic_enrolment"  # C5: with the withdrawal procedure
    NET_ENTREPRISES_ENROLMENT = "net_entreprises_enrolment"  # N4


@frozen(kw_only=True)
class SealedLink:
    purpose: LinkPurpose
    nonce: str  # hex; the token is derived from it at delivery
    expires_at: datetime


@frozen(kw_only=True)
class EmailNotification:
    kind: EmailKind
    to: str
    recipient: str  # « Monsieur Jean Dupont »
    siret: str
    designation: str
    identifier: str | None = None
    facts: tuple[tuple[str, str], ...] = ()
    link: SealedLink | None = None
    withdrawal: SealedLink | None = None  # the applicant's withdrawal link (C9)

    def fact(self, name: str) -> str:
        return dict(self.facts).get(name, "")


@frozen(kw_only=True)
class LetterNotification:
    kind: LetterKind
    siret: str
    designation: str
    recipient_name: str
    recipient_title: str
    recipient_address: tuple[str, ...]
    applicant_name: str
    applicant_function: str
    applicant_email: str
    registered_at: datetime
    withdrawal_deadline: datetime | None = None
    withdrawal: SealedLink | None = None


Notification = EmailNotification | LetterNotification


@frozen(kw_only=True)
class OutboxMessage:
    """One owed notification. ``id`` doubles as the idempotency key of its delivery."""

    id: str
    siret: str
    created_at: datetime
    notification: Notification
    attempts: int = 0
    next_attempt_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None

    def delivered(self, *, at: datetime) -> OutboxMessage:
        """Rule M3: sent; never due again."""
        if self.sent_at is not None:
            raise TransitionNotAllowedError("sent", "deliver")
        return evolve(self, attempts=self.attempts + 1, sent_at=at)

    def failed(self, *, at: datetime, error: str, retry_at: datetime) -> OutboxMessage:
        """Rule M3: not delivered this time; due again at ``retry_at``."""
        if self.sent_at is not None:
            raise TransitionNotAllowedError("sent", "record a failed delivery")
        return evolve(self, attempts=self.attempts + 1, next_attempt_at=retry_at, last_error=error)


@frozen(kw_only=True)
class EmailMessage:
    """A rendered e-mail, what the :class:`~peps_onboarding.ports.Mailer` port sends."""

    message_id: str  # stable across retries: the idempotency key
    to: str
    subject: str
    text: str
    html: str | None = None
    kind: EmailKind
    link_url: str | None = None


@frozen(kw_only=True)
class Letter:
    """A letter ready to print, what the :class:`~peps_onboarding.ports.LetterSender` sends."""

    letter_id: str  # stable across retries
    kind: LetterKind
    siret: str
    designation: str
    recipient_name: str
    recipient_title: str
    recipient_address: tuple[str, ...]
    applicant_name: str
    applicant_function: str
    applicant_email: str
    registered_at: datetime
    withdrawal_deadline: datetime | None
    withdrawal_code: str | None
    withdrawal_url: str | None
    text: str  # the French body, for adapters that do not lay out their own
