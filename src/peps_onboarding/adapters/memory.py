"""In-memory adapters for every port: real, tested code that hosts use in their own tests.

The stores keep the semantics a durable store must have. A unit of work stages its
writes and applies them at ``commit()`` under one lock, after checking that no record
it updates changed since it was read (optimistic versions) and that no record it
adds exists already (E6). Deadlines are indexed by day, so the sweep (T1) reads only
what is due, however many accounts there are.
"""

from __future__ import annotations

import bisect
import io
import secrets
import threading
import wave
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import ClassVar, Generic, Self, TypeVar

from attrs import evolve, frozen

from ..domain.account import Account
from ..domain.errors import (
    ConcurrentUpdateError,
    ConflictError,
    NetEntreprisesRefusedError,
    NotFoundError,
    NotificationDeliveryError,
    NotificationRefusedError,
    OnboardingError,
)
from ..domain.establishment import Contract, Enrolment, Establishment, LegalRepresentative
from ..domain.events import DomainEvent
from ..domain.links import Link, LinkPurpose
from ..domain.notifications import EmailMessage, Letter, OutboxMessage
from ..domain.values import ContractNumber, Identifier, Siret
from ..ports import (
    ChallengeChoice,
    ChallengeMedia,
    Clock,
    NetEntreprisesIdentity,
    SecurityChallenge,
)
from .captcha.answers import same_key, same_word
from .captcha.store import ChallengeStore, now_of
from .staging import StagedWrites

__all__ = [
    "InMemoryCaptchaVerifier",
    "InMemoryDatabase",
    "InMemoryDirectory",
    "InMemoryLetterSender",
    "InMemoryMailer",
    "InMemoryNetEntreprisesVerifier",
    "InMemoryUnitOfWork",
]

K = TypeVar("K", bound=Hashable)


class DeadlineIndex(Generic[K]):
    """Keys by the calendar day (UTC) of their deadline; ``due`` reads past days only."""

    def __init__(self) -> None:
        self._by_day: dict[date, set[K]] = {}
        self._days: list[date] = []
        self._day_of: dict[K, date] = {}

    def set(self, key: K, deadline: datetime | None) -> None:
        old = self._day_of.pop(key, None)
        if old is not None:
            bucket = self._by_day[old]
            bucket.discard(key)
            if not bucket:
                del self._by_day[old]
                del self._days[bisect.bisect_left(self._days, old)]
        if deadline is not None:
            day = deadline.astimezone(UTC).date()
            if day not in self._by_day:
                self._by_day[day] = set()
                bisect.insort(self._days, day)
            self._by_day[day].add(key)
            self._day_of[key] = day

    def candidates(self, at: datetime) -> list[K]:
        """Every key whose deadline's day is on or before ``at``'s day (callers filter)."""
        end = bisect.bisect_right(self._days, at.astimezone(UTC).date())
        return [key for day in self._days[:end] for key in self._by_day[day]]


class InMemoryDatabase:
    """The committed state shared by every unit of work made from it.

    ``interleave``, when given, runs at the start of every commit, after the use case's
    reads and before their check: a test passes a pause (or a barrier) there so that
    concurrent use cases interleave as they would on a real database, where the time
    between reading and committing is far longer than in memory.
    """

    def __init__(self, *, interleave: Callable[[], None] | None = None) -> None:
        self.interleave = interleave
        self.lock = threading.RLock()
        self.enrolments: dict[Siret, Enrolment] = {}
        self.enrolment_deadlines: DeadlineIndex[Siret] = DeadlineIndex()
        self.accounts: dict[Identifier, Account] = {}
        self.accounts_of: dict[Siret, list[Identifier]] = {}
        self.account_deadlines: DeadlineIndex[Identifier] = DeadlineIndex()
        self.counters: dict[str, int] = {}
        self.password_checks: dict[Identifier, int] = {}
        self.links: dict[str, Link] = {}
        self.links_of: dict[tuple[Identifier, LinkPurpose], list[str]] = {}
        self.events: list[DomainEvent] = []
        self.events_of: dict[str, list[DomainEvent]] = {}
        self.outbox: dict[str, OutboxMessage] = {}
        self.unsent: dict[str, None] = {}  # insertion-ordered set of unsent ids
        self.dead: dict[str, None] = {}  # insertion-ordered set of dead letters (unsent)
        self.claims: dict[str, datetime] = {}  # outbox id -> claimed until
        self.commits = 0

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    __call__ = unit_of_work


class _EnrolmentStore:
    def __init__(self, db: InMemoryDatabase) -> None:
        self._db = db
        self.staged: StagedWrites[Siret, Enrolment] = StagedWrites()

    def get(self, siret: Siret) -> Enrolment | None:
        staged = self.staged.get(siret)
        if staged is not None:
            return staged
        return self._db.enrolments.get(siret)

    def add(self, enrolment: Enrolment) -> None:
        if self.get(enrolment.siret) is not None:
            raise ConflictError("enrolment exists")
        self.staged.added[enrolment.siret] = evolve(enrolment, version=1)

    def update(self, enrolment: Enrolment) -> None:
        self.staged.stage_update(enrolment.siret, enrolment, self.get(enrolment.siret))

    def due(self, at: datetime) -> Sequence[Enrolment]:
        with self._db.lock:
            keys = self._db.enrolment_deadlines.candidates(at)
        return _due_overlay(keys, self.get, self.staged, at)


class _AccountStore:
    def __init__(self, db: InMemoryDatabase) -> None:
        self._db = db
        self.staged: StagedWrites[Identifier, Account] = StagedWrites()
        self.released: set[Identifier] = set()

    def get(self, identifier: Identifier) -> Account | None:
        staged = self.staged.get(identifier)
        if staged is not None:
            return staged
        return self._db.accounts.get(identifier)

    def of_establishment(self, siret: Siret) -> Sequence[Account]:
        with self._db.lock:
            keys = list(self._db.accounts_of.get(siret, ()))
        keys += [k for k, a in self.staged.added.items() if a.siret == siret]
        found = (self.get(k) for k in keys)
        return [a for a in found if a is not None]

    def add(self, account: Account) -> None:
        if self.get(account.identifier) is not None:
            raise ConflictError("identifier exists")
        self.staged.added[account.identifier] = evolve(account, version=1)

    def update(self, account: Account) -> None:
        self.staged.stage_update(account.identifier, account, self.get(account.identifier))

    def next_number(self, prefix: str) -> int:
        # Like a database sequence: outside the transaction, so a number is never reused.
        with self._db.lock:
            number = self._db.counters.get(prefix, 0) + 1
            self._db.counters[prefix] = number
        return number

    def due(self, at: datetime) -> Sequence[Account]:
        with self._db.lock:
            keys = self._db.account_deadlines.candidates(at)
        return _due_overlay(keys, self.get, self.staged, at)

    def reserve_password_check(self, identifier: Identifier, limit: int) -> bool:
        # Like ``next_number``: outside the transaction, taken at once.
        with self._db.lock:
            taken = self._db.password_checks.get(identifier, 0)
            if taken >= limit:
                return False
            self._db.password_checks[identifier] = taken + 1
        return True

    def release_password_checks(self, identifier: Identifier) -> None:
        self.released.add(identifier)


R = TypeVar("R", Enrolment, Account)
V = TypeVar("V", Enrolment, Account, Link)


def _due_overlay(
    keys: Iterable[K], get: Callable[[K], R | None], staged: StagedWrites[K, R], at: datetime
) -> list[R]:
    wanted = sorted(set(keys) | set(staged.added) | set(staged.updated), key=str)
    records = (get(k) for k in wanted)
    due = [r for r in records if r is not None and r.deadline is not None and r.deadline <= at]
    due.sort(key=_deadline_of)
    return due


def _deadline_of(record: Enrolment | Account) -> datetime:
    assert record.deadline is not None
    return record.deadline


class _LinkStore:
    def __init__(self, db: InMemoryDatabase) -> None:
        self._db = db
        self.staged: StagedWrites[str, Link] = StagedWrites()

    def by_hash(self, token_hash: str) -> Link | None:
        return self.staged.get(token_hash) or self._db.links.get(token_hash)

    def of_account(self, identifier: Identifier, purpose: LinkPurpose) -> Sequence[Link]:
        with self._db.lock:
            hashes = list(self._db.links_of.get((identifier, purpose), ()))
        hashes += [
            h
            for h, link in self.staged.added.items()
            if link.identifier == identifier and link.purpose is purpose and h not in hashes
        ]
        found = (self.by_hash(h) for h in hashes)
        return [link for link in found if link is not None]

    def add(self, link: Link) -> None:
        if self.by_hash(link.token_hash) is not None:
            raise ConflictError("link exists")
        self.staged.added[link.token_hash] = evolve(link, version=1)

    def update(self, link: Link) -> None:
        self.staged.stage_update(link.token_hash, link, self.by_hash(link.token_hash))


class _EventStore:
    def __init__(self, db: InMemoryDatabase) -> None:
        self._db = db
        self.staged: list[DomainEvent] = []

    def append(self, events: Iterable[DomainEvent]) -> None:
        self.staged.extend(events)

    def history(self, siret: Siret) -> Sequence[DomainEvent]:
        with self._db.lock:
            committed = list(self._db.events_of.get(siret.value, ()))
        return committed + [e for e in self.staged if e.siret == siret.value]


_ReadState = tuple[int, datetime | None, datetime | None]  # attempts, sent_at, dead_at


def _read_state(message: OutboxMessage) -> _ReadState:
    return (message.attempts, message.sent_at, message.dead_at)


class _Outbox:
    def __init__(self, db: InMemoryDatabase) -> None:
        self._db = db
        self.staged: dict[str, OutboxMessage] = {}
        self.added: set[str] = set()
        self.claims: dict[str, tuple[datetime, datetime]] = {}  # id -> (claimed at, until)
        self.read: dict[str, _ReadState] = {}  # what this unit of work read, unclaimed

    def add(self, message: OutboxMessage) -> None:
        if message.id in self._db.outbox or message.id in self.staged:
            raise ConflictError("outbox message exists")
        self.staged[message.id] = message
        self.added.add(message.id)

    def get(self, message_id: str) -> OutboxMessage | None:
        staged = self.staged.get(message_id)
        if staged is not None:
            return staged
        with self._db.lock:
            message = self._db.outbox.get(message_id)
        return None if message is None else self._remember(message)

    def due(self, at: datetime, limit: int) -> Sequence[OutboxMessage]:
        return [self._remember(m) for m in self._due(at, limit)]

    def _due(self, at: datetime, limit: int) -> list[OutboxMessage]:
        with self._db.lock:
            pending = [self._db.outbox[i] for i in self._db.unsent if i not in self._db.dead]
            claimed = {i for i, until in self._db.claims.items() if until > at}
        claimed |= {i for i, (_, until) in self.claims.items() if until > at}
        ready = [m for m in pending if m.next_attempt_at <= at and m.id not in claimed]
        ready.sort(key=lambda m: (m.next_attempt_at, m.created_at))
        return ready[:limit]

    def claim(self, at: datetime, limit: int, lease: timedelta) -> Sequence[OutboxMessage]:
        taken = []
        for message in self._due(at, limit):
            self.claims[message.id] = (at, at + lease)
            taken.append(evolve(message, claimed_until=at + lease))
        return taken

    def save(self, message: OutboxMessage) -> None:
        if message.id not in self._db.outbox and message.id not in self.staged:
            raise NotFoundError("no such outbox message")
        self.staged[message.id] = message

    def pending_count(self) -> int:
        with self._db.lock:
            return len(self._db.unsent) - len(self._db.dead) + self._staged_count(dead=False)

    def dead_count(self) -> int:
        with self._db.lock:
            return len(self._db.dead) + self._staged_count(dead=True)

    def _staged_count(self, *, dead: bool) -> int:
        staged = (self.staged[i] for i in self.added)
        return sum(1 for m in staged if m.sent_at is None and (m.dead_at is not None) is dead)

    def dead_letters(self, limit: int | None = None) -> Sequence[OutboxMessage]:
        with self._db.lock:
            dead = [self._db.outbox[i] for i in self._db.dead]
        dead.sort(key=_dead_order)
        return [self._remember(m) for m in dead[:limit]]

    def _remember(self, message: OutboxMessage) -> OutboxMessage:
        self.read[message.id] = _read_state(message)
        return message

    def check(self) -> None:
        """At commit, under the database's lock: every claim still free and every save's
        guard (:meth:`peps_onboarding.ports.Outbox.save`) holds, else ``ConflictError``."""
        db = self._db
        for message_id, (claimed_at, _) in self.claims.items():
            stored = db.outbox.get(message_id)
            free = db.claims.get(message_id, claimed_at) <= claimed_at
            if stored is None or not free or not _due_at(stored, claimed_at, db):
                raise ConflictError("another dispatcher claimed this message")
        for message_id, message in self.staged.items():
            if message_id in self.added:
                continue
            claim = self.claims.get(message_id)
            holder = claim[1] if claim is not None else db.claims.get(message_id)
            if not _may_save(db.outbox[message_id], message, holder, self.read.get(message_id)):
                raise ConflictError("the outbox message changed meanwhile")

    def apply(self) -> None:
        """At commit, under the database's lock, after :meth:`check`."""
        db = self._db
        for message_id, (_, until) in self.claims.items():
            db.claims[message_id] = until
        for message_id, message in self.staged.items():
            db.claims.pop(message_id, None)
            db.outbox[message_id] = evolve(message, claimed_until=None)
            if message.sent_at is None:
                db.unsent[message_id] = None
            else:
                db.unsent.pop(message_id, None)
            if message.sent_at is None and message.dead_at is not None:
                db.dead[message_id] = None
            else:
                db.dead.pop(message_id, None)

    def clear(self) -> None:
        self.staged.clear()
        self.added.clear()
        self.claims.clear()
        self.read.clear()


def _dead_order(message: OutboxMessage) -> tuple[datetime, datetime, str]:
    assert message.dead_at is not None
    return (message.dead_at, message.created_at, message.id)


def _due_at(message: OutboxMessage, at: datetime, db: InMemoryDatabase) -> bool:
    """Unsent, not dead and its time come at ``at`` (its claim is checked apart)."""
    return message.id in db.unsent and message.id not in db.dead and message.next_attempt_at <= at


def _may_save(
    stored: OutboxMessage,
    new: OutboxMessage,
    holder: datetime | None,
    read: _ReadState | None,
) -> bool:
    """The guard of :meth:`peps_onboarding.ports.Outbox.save`; ``holder`` is the end of the
    lease the message is claimed under now, if any."""
    if new.sent_at is not None:
        allowed = stored.sent_at is None  # a delivery happened: it counts, unless recorded
    elif new.claimed_until is not None:  # another outcome: only under its own claim
        allowed = holder == new.claimed_until and stored.sent_at is None
        allowed = allowed and stored.dead_at is None
    else:
        allowed = True
    if read is not None and new.claimed_until is None:
        allowed = allowed and _read_state(stored) == read
    return allowed


class InMemoryUnitOfWork:
    """One use case's transaction over an :class:`InMemoryDatabase`."""

    def __init__(self, db: InMemoryDatabase) -> None:
        self._db = db
        self.enrolments = _EnrolmentStore(db)
        self.accounts = _AccountStore(db)
        self.links = _LinkStore(db)
        self.events = _EventStore(db)
        self.outbox = _Outbox(db)

    def __enter__(self) -> Self:
        self.rollback()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def rollback(self) -> None:
        self.enrolments.staged.clear()
        self.accounts.staged.clear()
        self.links.staged.clear()
        self.accounts.released.clear()
        self.events.staged.clear()
        self.outbox.clear()

    def commit(self) -> None:
        db = self._db
        if db.interleave is not None:
            db.interleave()
        with db.lock:
            self._check(db.enrolments, self.enrolments.staged)
            self._check(db.accounts, self.accounts.staged)
            self._check(db.links, self.links.staged)
            self.outbox.check()
            self._apply_enrolments()
            self._apply_accounts()
            self._apply_links()
            for identifier in self.accounts.released:
                db.password_checks.pop(identifier, None)
            for event in self.events.staged:
                db.events.append(event)
                db.events_of.setdefault(event.siret, []).append(event)
            self.outbox.apply()
            db.commits += 1
        self.rollback()

    @staticmethod
    def _check(committed: dict[K, V], staged: StagedWrites[K, V]) -> None:
        for key in staged.added:
            if key in committed:
                raise ConflictError("record exists")
        for key, version in staged.expected.items():
            current = committed.get(key)
            if current is None or current.version != version:
                raise ConcurrentUpdateError()

    def _apply_enrolments(self) -> None:
        db, staged = self._db, self.enrolments.staged
        for key, record in (*staged.added.items(), *staged.updated.items()):
            if key in staged.expected:
                record = evolve(record, version=staged.expected[key] + 1)
            db.enrolments[key] = record
            db.enrolment_deadlines.set(key, record.deadline)

    def _apply_links(self) -> None:
        db, staged = self._db, self.links.staged
        for key, link in staged.added.items():
            db.links_of.setdefault((link.identifier, link.purpose), []).append(key)
        for key, link in (*staged.added.items(), *staged.updated.items()):
            if key in staged.expected:
                link = evolve(link, version=staged.expected[key] + 1)
            db.links[key] = link

    def _apply_accounts(self) -> None:
        db, staged = self._db, self.accounts.staged
        for key, record in staged.added.items():
            db.accounts_of.setdefault(record.siret, []).append(key)
        for key, record in (*staged.added.items(), *staged.updated.items()):
            if key in staged.expected:
                record = evolve(record, version=staged.expected[key] + 1)
            db.accounts[key] = record
            db.account_deadlines.set(key, record.deadline)


# --- the outside world ----------------------------------------------------------------


class InMemoryDirectory:
    """Establishments, contracts and legal representatives: both directory ports.

    A contract number belongs to one SIRET (E2): adding it for another SIRET moves it
    there, as a later line of a directory import does.
    """

    def __init__(self) -> None:
        self._establishments: dict[Siret, Establishment] = {}
        self._contracts: dict[ContractNumber, Contract] = {}
        self._numbers_of: dict[Siret, set[ContractNumber]] = {}
        self._representatives: dict[Siret, LegalRepresentative] = {}

    def add(
        self,
        establishment: Establishment,
        *,
        contracts: Iterable[Contract] = (),
        legal_representative: LegalRepresentative | None = None,
    ) -> None:
        self._establishments[establishment.siret] = establishment
        for contract in contracts:
            if contract.siret != establishment.siret:
                raise ValueError("a contract belongs to its establishment's SIRET (E2)")
            moved = self._contracts.get(contract.number)
            if moved is not None and moved.siret != contract.siret:
                self._numbers_of[moved.siret].discard(contract.number)
            self._contracts[contract.number] = contract
            self._numbers_of.setdefault(contract.siret, set()).add(contract.number)
        if legal_representative is not None:
            self._representatives[establishment.siret] = legal_representative

    def remove_contract(self, number: ContractNumber) -> None:
        """Ends a contract (a test's "the fund no longer covers this establishment")."""
        contract = self._contracts.pop(number, None)
        if contract is not None:
            self._numbers_of[contract.siret].discard(number)

    def establishment(self, siret: Siret) -> Establishment | None:
        return self._establishments.get(siret)

    def contract(self, siret: Siret, number: ContractNumber) -> Contract | None:
        contract = self._contracts.get(number)
        return contract if contract is not None and contract.siret == siret else None

    def has_contract(self, siret: Siret) -> bool:
        return bool(self._numbers_of.get(siret))

    def legal_representative(self, siret: Siret) -> LegalRepresentative | None:
        return self._representatives.get(siret)

    def __len__(self) -> int:
        return len(self._establishments)


class InMemoryMailer:
    """Keeps what it is asked to send; ``fail_next(n)`` makes the next n sends fail (M3),
    ``refuse_next(n)`` refuses them for good (a dead letter each)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self._failures = 0
        self._refusals = 0

    def fail_next(self, count: int) -> None:
        self._failures = count

    def refuse_next(self, count: int) -> None:
        self._refusals = count

    def send(self, message: EmailMessage) -> None:
        if self._refusals > 0:
            self._refusals -= 1
            raise NotificationRefusedError("destinataire refusé par le serveur de courriel (550)")
        if self._failures > 0:
            self._failures -= 1
            raise NotificationDeliveryError("le serveur de courriel ne répond pas")
        if any(m.message_id == message.message_id for m in self.sent):
            return  # idempotent on the message id
        self.sent.append(message)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sent if m.to.casefold() == address.casefold()]


class InMemoryLetterSender:
    """Keeps the letters; ``fail_next(n)`` and ``refuse_next(n)`` as :class:`InMemoryMailer`."""

    def __init__(self) -> None:
        self.sent: list[Letter] = []
        self._failures = 0
        self._refusals = 0

    def fail_next(self, count: int) -> None:
        self._failures = count

    def refuse_next(self, count: int) -> None:
        self._refusals = count

    def send(self, letter: Letter) -> None:
        if self._refusals > 0:
            self._refusals -= 1
            raise NotificationRefusedError("adresse postale refusée par le prestataire courrier")
        if self._failures > 0:
            self._failures -= 1
            raise NotificationDeliveryError("le prestataire courrier ne répond pas")
        if any(sent.letter_id == letter.letter_id for sent in self.sent):
            return
        self.sent.append(letter)


class InMemoryNetEntreprisesVerifier:
    """Net-Entreprises accounts registered by tests; ``fail_with`` simulates an outage or a
    Net-Entreprises-side refusal (blocked, password expired, not registered)."""

    def __init__(self) -> None:
        self._accounts: dict[tuple[str, str, str], str] = {}
        self.fail_with: OnboardingError | None = None

    def register(self, *, siret: str, last_name: str, first_name: str, password: str) -> None:
        self._accounts[(siret, _fold(last_name), _fold(first_name))] = password

    def verify(
        self, *, siret: Siret, last_name: str, first_name: str, password: str
    ) -> NetEntreprisesIdentity:
        if self.fail_with is not None:
            raise self.fail_with
        expected = self._accounts.get((siret.value, _fold(last_name), _fold(first_name)))
        if expected is None or expected != password:
            raise NetEntreprisesRefusedError()
        return NetEntreprisesIdentity(siret=siret, last_name=last_name, first_name=first_name)


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


@frozen(kw_only=True)
class _MemoryChallenge:
    answer: str  # the word asked when it was issued (a later renew() does not change it)
    target_key: str
    keys: tuple[str, ...]


class InMemoryCaptchaVerifier:
    """Accepts one answer (default « trombone »), as the image « Trombone » of C1.

    Like the real check, it can be renewed (« Renouveler le contrôle de sécurité »: another
    image, and the previous answer stops working) and has a sound version whose answer is
    the same word, so that a person who cannot see the images passes it too.

    Two ways to answer it. With no challenge id (``verify("", "trombone")``), the current
    ``answer`` typed: what tests and the demo do. With the id of a challenge it issued
    (:meth:`challenge`), the key of its target image, or its word: single use, right or
    wrong, and expired after ``ttl`` on ``clock`` (the clock port or a callable). Its
    media are tiny generated SVG and WAV files. For tests only: production refuses it.
    """

    IMAGES: ClassVar[tuple[str, ...]] = ("Trombone", "Ciseaux", "Agrafeuse", "Enveloppe")

    def __init__(
        self,
        answer: str = "trombone",
        *,
        clock: Clock | Callable[[], datetime] | None = None,
        ttl: timedelta = timedelta(minutes=10),
    ) -> None:
        self.answer = answer
        self._issued: ChallengeStore[_MemoryChallenge] = ChallengeStore(
            ttl=ttl, capacity=1_000, now=now_of(clock)
        )

    @property
    def instruction(self) -> str:
        """What the image version asks, as the seed's screen words it."""
        return f"Cliquer sur l'image {self._image()}"

    def sound_version(self) -> str:
        """What the sound version says, spelled out letter by letter."""
        letters = ", ".join(self.answer.upper())
        return f"Version sonore : « Saisissez le mot que vous entendez : {letters}. »"

    def renew(self) -> str:
        """Another image; the answer to the previous one is refused from now on."""
        names = [image.casefold() for image in self.IMAGES]
        current = names.index(self.answer.casefold()) if self.answer.casefold() in names else -1
        self.answer = names[(current + 1) % len(names)]
        return self.instruction

    def _image(self) -> str:
        return next(
            (image for image in self.IMAGES if image.casefold() == self.answer.casefold()),
            self.answer,
        )

    def challenge(self) -> SecurityChallenge:
        """Rule C1: the four images, the current answer's among them (or added)."""
        names = list(self.IMAGES)
        if self._image() not in names:
            names[0] = self._image()
        keys = tuple(secrets.token_urlsafe(9) for _ in names)
        target_key = keys[names.index(self._image())]
        challenge_id = secrets.token_urlsafe(18)
        expires_at = self._issued.add(
            challenge_id,
            _MemoryChallenge(answer=self.answer, target_key=target_key, keys=keys),
        )
        return SecurityChallenge(
            id=challenge_id,
            kind="images",
            prompt=self.instruction,
            choices=tuple(
                ChallengeChoice(key=key, label=f"Image {index}")
                for index, key in enumerate(keys, start=1)
            ),
            sound_prompt="Saisissez le mot que vous entendez",
            expires_at=expires_at,
        )

    def media(self, challenge_id: str, part: str) -> ChallengeMedia | None:
        """A coloured disc per image (no word in it), a short silent WAV for ``"son"``."""
        if not isinstance(challenge_id, str) or not isinstance(part, str):
            return None
        issued = self._issued.get(challenge_id)
        if issued is None:
            return None
        if part == "son":
            return ChallengeMedia(content=_SILENT_WAV, media_type="audio/wav")
        if part not in issued.keys:
            return None
        hue = 40 * issued.keys.index(part)
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 8 8">'
            f'<circle cx="4" cy="4" r="3" fill="hsl({hue},60%,35%)"/></svg>'
        )
        return ChallengeMedia(content=svg.encode("ascii"), media_type="image/svg+xml")

    def verify(self, challenge_id: str, response: str | None = None) -> bool:
        """Rule C1: see the class. Never raises on what a form may post.

        ``verify("trombone")``, the port's former one-argument form, still reads as
        ``verify("", "trombone")`` for hosts' older tests."""
        if response is None:
            challenge_id, response = "", challenge_id
        if not isinstance(challenge_id, str) or len(challenge_id) > 256:
            return False
        issued = self._issued.take(challenge_id) if challenge_id else None
        if not isinstance(response, str) or len(response) > 256:
            return False
        if challenge_id == "":
            return same_word(response, self.answer)
        if issued is None:
            return False
        by_key = same_key(response.strip(), issued.target_key)
        return by_key | same_word(response, issued.answer)


def _silent_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(1)
        target.setframerate(8_000)
        target.writeframes(bytes([128]) * 800)
    return buffer.getvalue()


_SILENT_WAV = _silent_wav()
