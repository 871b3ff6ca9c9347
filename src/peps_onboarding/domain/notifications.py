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
from .policy import Policy
from .values import Civility
from .wording import is_feminine

__all__ = [
    "EmailKind",
    "EmailMessage",
    "EmailNotification",
    "Letter",
    "LetterKind",
    "LetterNotification",
    "Notification",
    "OutboxMessage",
    "PasswordResetRequest",
    "RequestKind",
    "SealedLink",
]


class EmailKind(enum.Enum):
    PASSWORD_CREATION = "password_creation"  # C5, R5: 15-day link
    NEW_NET_ENTREPRISES_USER = "new_net_entreprises_user"  # N3: to every administrator
    ACCESS_OPEN = "access_open"  # C8: day J
    PASSWORD_RESET = "password_reset"  # A5: 3-day link
    REGISTRATION_WITHDRAWN = "registration_withdrawn"  # C9

    @property
    def label(self) -> str:
        return _EMAIL_LABELS[self]

    @property
    def carries_link(self) -> bool:
        """Whether the e-mail exists to give a single-use link (C5, R5, A5): rendering
        one without its link is a wiring error, not a useless e-mail."""
        return self in {EmailKind.PASSWORD_CREATION, EmailKind.PASSWORD_RESET}


_EMAIL_LABELS = {
    EmailKind.PASSWORD_CREATION: "Courriel : lien de création du mot de passe",
    EmailKind.NEW_NET_ENTREPRISES_USER: "Courriel : nouvel utilisateur Net-Entreprises",
    EmailKind.ACCESS_OPEN: "Courriel : ouverture de l'accès",
    EmailKind.PASSWORD_RESET: "Courriel : lien de renouvellement du mot de passe",
    EmailKind.REGISTRATION_WITHDRAWN: "Courriel : inscription retirée",
}


class LetterKind(enum.Enum):
    CLASSIC_ENROLMENT = "classic_enrolment"  # C5: with the withdrawal procedure
    NET_ENTREPRISES_ENROLMENT = "net_entreprises_enrolment"  # N4

    @property
    def label(self) -> str:
        if self is LetterKind.CLASSIC_ENROLMENT:
            return "Courrier : inscription au représentant légal"
        return "Courrier : inscription par Net-Entreprises au représentant légal"


class RequestKind(enum.Enum):
    """What the outbox holds that is not yet a notification: a request the dispatcher
    resolves into one, off the path of the person who asked (P2)."""

    PASSWORD_RESET_REQUEST = "password_reset_request"  # A5, P2

    @property
    def label(self) -> str:
        return "Demande de renouvellement du mot de passe"


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
    # The recipient's civilité, for the agreement (« informé » / « informée »); None in
    # what was written before it was carried: the renderers then read ``recipient``.
    civility: Civility | None = None

    def fact(self, name: str) -> str:
        return dict(self.facts).get(name, "")

    @property
    def feminine(self) -> bool:
        """Whether the text agrees in the feminine with its recipient (« Madame »)."""
        return is_feminine(self.civility, self.recipient)


@frozen(kw_only=True)
class LetterNotification:
    """Rule M2: the letter owed to the legal representative, as the outbox keeps it.

    ``recipient_address`` is the whole window block as posted, recipient's lines first,
    laid out to NF Z10-011 when the letter is owed (C4): at most 6 lines of at most 38
    characters, the last in capitals without accents. The civilités make the letter's
    words agree (« Madame la Maire, », « administratrice »); None says « Madame,
    Monsieur, »."""

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
    recipient_civility: Civility | None = None
    applicant_civility: Civility | None = None


@frozen(kw_only=True)
class PasswordResetRequest:
    """Rule P2: « Mot de passe oublié » as asked, whether or not the identifier names an
    account. Recording it is all the request does, so both answers cost the same; the
    dispatcher then finds the account and owes the reset e-mail (A5), or drops it."""

    identifier: str
    siret: str = ""  # unknown until resolved: asking must not look the account up

    @property
    def kind(self) -> RequestKind:
        return RequestKind.PASSWORD_RESET_REQUEST


Notification = EmailNotification | LetterNotification | PasswordResetRequest


@frozen(kw_only=True)
class OutboxMessage:
    """One owed notification. ``id`` doubles as the idempotency key of its delivery.

    Unsent, it is *due* at ``next_attempt_at``; delivered, ``sent_at`` is set; given up
    on, ``dead_at`` is set (a dead letter: never due again until an operator retries it).
    ``claimed_until`` is set only on the copy :meth:`Outbox.claim
    <peps_onboarding.ports.Outbox.claim>` hands to one dispatcher: the end of its lease,
    which the outcome it saves must still hold (M3).
    """

    id: str
    siret: str
    created_at: datetime
    notification: Notification
    attempts: int = 0
    next_attempt_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None
    dead_at: datetime | None = None
    claimed_until: datetime | None = None

    @property
    def kind(self) -> EmailKind | LetterKind | RequestKind:
        return self.notification.kind

    @property
    def recipient(self) -> str:
        """Who it is for: the e-mail address, or the letter's addressee."""
        notification = self.notification
        if isinstance(notification, EmailNotification):
            return notification.to
        if isinstance(notification, PasswordResetRequest):
            return ""  # nobody yet: the dispatcher resolves it
        return notification.recipient_name

    def delivered(self, *, at: datetime) -> OutboxMessage:
        """Rule M3: sent; never due again."""
        self._check_attemptable("deliver")
        return evolve(self, attempts=self.attempts + 1, sent_at=at)

    def failed(self, *, at: datetime, error: str, retry_at: datetime) -> OutboxMessage:
        """Rule M3: not delivered this time; due again at ``retry_at``."""
        self._check_attemptable("record a failed delivery")
        return evolve(self, attempts=self.attempts + 1, next_attempt_at=retry_at, last_error=error)

    def dead_lettered(self, *, at: datetime, error: str) -> OutboxMessage:
        """Rule M3: not delivered, and given up on: a dead letter, due no more."""
        self._check_attemptable("give up on")
        return evolve(self, attempts=self.attempts + 1, last_error=error, dead_at=at)

    def attempt_failed(
        self, *, at: datetime, error: str, permanent: bool, policy: Policy
    ) -> OutboxMessage:
        """Rule M3: what a failed delivery makes of the message.

        A permanent refusal, or the ``policy.notification_max_attempts``-th failure,
        makes it a dead letter; any other failure leaves it due again after the backoff
        (``policy.retry_delay``).
        """
        attempts = self.attempts + 1
        if permanent or attempts >= policy.notification_max_attempts:
            return self.dead_lettered(at=at, error=error)
        return self.failed(at=at, error=error, retry_at=at + policy.retry_delay(attempts))

    def retried(self, *, at: datetime) -> OutboxMessage:
        """Rule M3: an operator retries a dead letter: due at ``at``, with its attempts
        counted from zero again (the full backoff and ``notification_max_attempts``
        anew); ``last_error`` stays until the next attempt replaces it."""
        if self.dead_at is None or self.sent_at is not None:
            raise TransitionNotAllowedError("not dead", "retry")
        return evolve(self, attempts=0, next_attempt_at=at, dead_at=None, claimed_until=None)

    def _check_attemptable(self, action: str) -> None:
        if self.sent_at is not None:
            raise TransitionNotAllowedError("sent", action)
        if self.dead_at is not None:
            raise TransitionNotAllowedError("dead", action)


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
    """A letter ready to print, what the :class:`~peps_onboarding.ports.LetterSender` sends.

    ``recipient_address`` is the window block, to print line for line (NF Z10-011, C4);
    :func:`peps_onboarding.domain.letter_wording.letter_wording` gives its words, and
    ``text`` is them laid out as plain text."""

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
    # As on LetterNotification: the salutation and the applicant's words agree with them.
    recipient_civility: Civility | None = None
    applicant_civility: Civility | None = None
