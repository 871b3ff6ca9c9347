"""What the core needs from the outside world, as ``typing.Protocol`` classes.

Each port is named for its role; adapters (in :mod:`peps_onboarding.adapters`) are
named for their technology. A host that brings its own adapter implements the
protocol and checks it with the contract suites of :mod:`peps_onboarding.testing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Literal, Protocol, Self

from attrs import field, frozen

from ..domain.account import Account
from ..domain.establishment import Contract, Enrolment, Establishment, LegalRepresentative
from ..domain.events import DomainEvent
from ..domain.links import Link, LinkPurpose
from ..domain.notifications import EmailMessage, EmailNotification, Letter, OutboxMessage
from ..domain.throttling import RateLimit
from ..domain.values import ContractNumber, Identifier, Siret

__all__ = [
    "AccountStore",
    "CaptchaVerifier",
    "ChallengeChoice",
    "ChallengeMedia",
    "Clock",
    "ContractDirectory",
    "EmailRenderer",
    "EnrolmentStore",
    "EstablishmentRegistry",
    "EventStore",
    "LetterSender",
    "LinkStore",
    "Mailer",
    "NetEntreprisesIdentity",
    "NetEntreprisesVerifier",
    "Outbox",
    "PasswordHasher",
    "RandomSource",
    "SecurityChallenge",
    "Throttle",
    "UnitOfWork",
    "UnitOfWorkFactory",
]


# --- the outside world ---------------------------------------------------------------


class Clock(Protocol):
    """Rule T1: the only source of "now". Returns an aware datetime in UTC."""

    def now(self) -> datetime: ...


class RandomSource(Protocol):
    """Secret randomness for link tokens, nonces and message ids."""

    def token_bytes(self, n: int) -> bytes: ...


class PasswordHasher(Protocol):
    """Rule A3: a slow salted hash (Argon2id in production)."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool:
        """True when the password matches; False otherwise (never raises for a mismatch)."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class Throttle(Protocol):
    """Rule P1: counts the uses of a key in a moving window, shared by every instance
    that must agree (memory for one process, Redis for several).

    Keys arrive already opaque (a keyed digest of the identifier, address…), so a
    storage holds no personal data in clear.
    """

    def hit(self, limit: RateLimit, key: str) -> timedelta | None:
        """Counts one use of ``key`` if ``limit`` allows it and returns ``None``;
        otherwise counts nothing and returns how long until a use is allowed again."""
        ...

    def test(self, limit: RateLimit, key: str) -> timedelta | None:
        """Like :meth:`hit`, counting nothing."""
        ...

    def clear(self, limit: RateLimit, key: str) -> None:
        """Forgets every use of ``key`` under ``limit``."""
        ...


class EstablishmentRegistry(Protocol):
    """Rule N2: an establishment's data from its SIRET (the directory, or INSEE Sirene).

    Returns ``None`` for an unknown SIRET; raises
    :class:`~peps_onboarding.domain.errors.DirectoryUnavailableError` when it cannot tell.
    """

    def establishment(self, siret: Siret) -> Establishment | None: ...


class ContractDirectory(Protocol):
    """Rule E2: the funds' contracts, and the legal representatives who receive letters."""

    def contract(self, siret: Siret, number: ContractNumber) -> Contract | None:
        """The contract when this SIRET holds this number, else ``None``."""
        ...

    def has_contract(self, siret: Siret) -> bool: ...

    def legal_representative(self, siret: Siret) -> LegalRepresentative | None: ...


@frozen(kw_only=True)
class NetEntreprisesIdentity:
    """Who Net-Entreprises vouched for (N1)."""

    siret: Siret
    last_name: str
    first_name: str


class NetEntreprisesVerifier(Protocol):
    """Rule N1: checks Net-Entreprises credentials.

    Raises :class:`~peps_onboarding.domain.errors.NetEntreprisesRefusedError` (or its
    blocked / password-expired / not-registered siblings) for a refusal, and
    :class:`~peps_onboarding.domain.errors.NetEntreprisesUnavailableError` when it
    cannot reach Net-Entreprises. The password is never kept.
    """

    def verify(
        self, *, siret: Siret, last_name: str, first_name: str, password: str
    ) -> NetEntreprisesIdentity: ...


@frozen(kw_only=True)
class ChallengeChoice:
    """One image of an image-choice security check (C1)."""

    key: str  # opaque, random per challenge: what the form posts back when it is clicked
    label: str  # its accessible name, which never gives the answer away: « Image 1 »…


@frozen(kw_only=True)
class SecurityChallenge:
    """Rule C1: one security check, as a screen shows it; W4: with its sound version.

    ``kind`` ``"images"``: click the one of ``choices`` the ``prompt`` names (« Cliquer
    sur l'image Trombone »). ``kind`` ``"text"``: type the characters shown in one image
    (CaptchEtat); ``choices`` is then empty. Either way the sound version (media part
    ``"son"``) is the non-graphic alternative, and ``sound_prompt`` says what to do with
    it. « Renouveler le contrôle de sécurité » is just another challenge.
    """

    id: str  # opaque, unguessable: posted back with the response
    kind: Literal["images", "text"]
    prompt: str
    choices: tuple[ChallengeChoice, ...]
    sound_prompt: str
    expires_at: datetime  # aware, UTC


@frozen(kw_only=True)
class ChallengeMedia:
    """An image or the sound of a challenge, as served to the browser."""

    content: bytes = field(repr=False)
    media_type: str  # "image/svg+xml", "image/png", "audio/wav"…


class CaptchaVerifier(Protocol):
    """Rule C1: the security check (images « Trombone », or characters to type), which can
    be renewed and has a sound version (W4).

    A challenge is single use: its first :meth:`verify`, right or wrong, consumes it.
    An adapter that relies on an outside service raises
    :class:`~peps_onboarding.domain.errors.CaptchaUnavailableError` when it cannot reach
    it; hostile input never raises.
    """

    def challenge(self) -> SecurityChallenge:
        """A new challenge (each call, a new one: that is how the check is renewed)."""
        ...

    def media(self, challenge_id: str, part: str) -> ChallengeMedia | None:
        """``part``: a choice's key (``"images"``), ``"image"`` (``"text"``) or ``"son"``
        (the sound version). ``None`` when the challenge or the part is unknown, expired
        or used."""
        ...

    def verify(self, challenge_id: str, response: str) -> bool:
        """True when ``response`` (the clicked choice's key, or what the person typed from
        the sound version or the text image) answers this challenge; the challenge is used
        up either way. False for an unknown, expired or used challenge, and for anything
        that is not an answer."""
        ...


class Mailer(Protocol):
    """Sends one rendered e-mail; raises
    :class:`~peps_onboarding.domain.errors.NotificationDeliveryError` when it cannot."""

    def send(self, message: EmailMessage) -> None: ...


class EmailRenderer(Protocol):
    """Turns an owed e-mail (M1) into its French subject and bodies.

    ``link_url`` is the full link (with the raw token) when the e-mail carries one.
    Every rendering says the e-mail comes from an automaton and must not be answered.
    """

    def render(
        self, notification: EmailNotification, *, message_id: str, link_url: str | None
    ) -> EmailMessage: ...


class LetterSender(Protocol):
    """Hands one letter to the postal service (or a print-and-post provider); raises
    :class:`~peps_onboarding.domain.errors.NotificationDeliveryError` when it cannot."""

    def send(self, letter: Letter) -> None: ...


# --- stores ---------------------------------------------------------------------------


class EnrolmentStore(Protocol):
    def get(self, siret: Siret) -> Enrolment | None: ...

    def add(self, enrolment: Enrolment) -> None:
        """Stores a new enrolment; raises ``ConflictError`` if the SIRET already has one (E6)."""
        ...

    def update(self, enrolment: Enrolment) -> None:
        """Replaces the record read at ``enrolment.version``.

        Raises ``ConcurrentUpdateError`` when another writer got there first (now, or at
        commit). Within one unit of work the version does not move, so several updates
        compose; the commit stores ``version + 1``.
        """
        ...

    def due(self, at: datetime) -> Sequence[Enrolment]:
        """Enrolments whose ``deadline`` is at or before ``at`` (T1)."""
        ...


class AccountStore(Protocol):
    def get(self, identifier: Identifier) -> Account | None: ...

    def of_establishment(self, siret: Siret) -> Sequence[Account]:
        """Every account of the establishment, closed ones included, in the order they
        were added (the first administrator first)."""
        ...

    def add(self, account: Account) -> None:
        """Raises ``ConflictError`` when the identifier exists (A1: never reused)."""
        ...

    def update(self, account: Account) -> None:
        """Optimistic: as :meth:`EnrolmentStore.update`."""
        ...

    def next_number(self, prefix: str) -> int:
        """The next unused number for a 3-letter prefix (A1: never reused)."""
        ...

    def due(self, at: datetime) -> Sequence[Account]:
        """Accounts whose ``deadline`` is at or before ``at`` (T1)."""
        ...

    def reserve_password_check(self, identifier: Identifier, limit: int) -> bool:
        """Rule A4: takes one of the account's ``limit`` password-check slots, at once and
        for good, in a transaction of its own (like :meth:`next_number`); ``False`` when
        all ``limit`` are taken. Atomic across processes: of N racing callers with
        ``limit`` free slots, exactly ``limit`` get ``True``."""
        ...

    def release_password_checks(self, identifier: Identifier) -> None:
        """Frees every slot of the account, at this unit of work's commit."""
        ...


class LinkStore(Protocol):
    def by_hash(self, token_hash: str) -> Link | None: ...

    def of_account(self, identifier: Identifier, purpose: LinkPurpose) -> Sequence[Link]: ...

    def add(self, link: Link) -> None:
        """Stores a new link; a ``token_hash`` already stored is a ``ConflictError`` (at
        ``add`` or at commit)."""
        ...

    def update(self, link: Link) -> None:
        """Rule A8: optimistic, as :meth:`EnrolmentStore.update`: of two units of work that
        read a link at one version and write it (using it, say), one commits."""
        ...


class EventStore(Protocol):
    """Rule L1: the history, in order."""

    def append(self, events: Iterable[DomainEvent]) -> None: ...

    def history(self, siret: Siret) -> Sequence[DomainEvent]: ...


class Outbox(Protocol):
    """Rule M3: notifications owed, written with the state change that caused them.

    A message is *pending* while unsent and not dead, *due* when pending, its
    ``next_attempt_at`` reached and no dispatcher's lease running on it, and *dead* (a
    dead letter) once ``dead_at`` is set: never due again until an operator saves it
    retried (:meth:`OutboxMessage.retried`).
    """

    def add(self, message: OutboxMessage) -> None: ...

    def get(self, message_id: str) -> OutboxMessage | None: ...

    def due(self, at: datetime, limit: int) -> Sequence[OutboxMessage]:
        """At most ``limit`` due messages (unsent, not dead, ``next_attempt_at`` ≤ ``at``,
        unclaimed or their lease over at ``at``), ordered by ``next_attempt_at`` then
        ``created_at``."""
        ...

    def claim(self, at: datetime, limit: int, lease: timedelta) -> Sequence[OutboxMessage]:
        """Like :meth:`due`, and takes them: until ``at + lease`` (or until :meth:`save`),
        neither ``due`` nor ``claim`` returns them again, so two dispatchers never
        deliver the same message. Each comes back with ``claimed_until = at + lease``.
        The claim takes effect at commit; a store that finds at commit that another
        claimed first raises ``ConflictError``."""
        ...

    def save(self, message: OutboxMessage) -> None:
        """Records an attempt's outcome (``sent_at``, or ``attempts`` / ``last_error`` /
        ``next_attempt_at`` / ``dead_at``) or an operator's retry, and releases any claim.

        Guarded at commit (``ConflictError`` when the guard fails, nothing written):

        - an outcome of a claimed copy (``claimed_until`` set) that is not a delivery is
          written only while that claim is still the message's own, unsent and not dead:
          once the lease ran out and another dispatcher claimed it, that one's outcome
          is what counts;
        - a delivery (``sent_at`` set) is written unless the message is already sent;
        - a message this unit of work read (:meth:`get`, :meth:`due`,
          :meth:`dead_letters`) without claiming it is written only if it is stored as
          it was read (same ``attempts``, ``sent_at`` and ``dead_at``).
        """
        ...

    def pending_count(self) -> int:
        """Unsent messages that are not dead letters, due or not."""
        ...

    def dead_count(self) -> int: ...

    def dead_letters(self, limit: int | None = None) -> Sequence[OutboxMessage]:
        """The dead letters, oldest ``dead_at`` first (then ``created_at``), at most
        ``limit`` (every one when ``None``)."""
        ...


class UnitOfWork(Protocol):
    """All of one use case commits or nothing does.

    ``with uow:`` begins; ``uow.commit()`` makes the changes durable; leaving the block
    without a commit, or on an exception, rolls everything back.
    """

    @property
    def enrolments(self) -> EnrolmentStore: ...

    @property
    def accounts(self) -> AccountStore: ...

    @property
    def links(self) -> LinkStore: ...

    @property
    def events(self) -> EventStore: ...

    @property
    def outbox(self) -> Outbox: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work for each use case."""

    def __call__(self) -> UnitOfWork: ...
