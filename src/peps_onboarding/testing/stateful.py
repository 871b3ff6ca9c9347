"""The stateful model of the platform: random sequences of every use case, each step
checked against the spec's invariants (rules E3, A2, E5, E6, A8, L1, M3, T1), and
what every member reads of their establishment predicted from the model's own state
(R8, R6).

The model restates the legal moves of RULES.md in its own tables below; it imports no
transition table or helper from the code it checks, or it could not catch a mistake in
them. After every step it reads the store (:meth:`PlatformMachine.read_store`, the
in-memory database by default) and compares it with the snapshot it kept after the
previous step.

A host runs the same model over its own journey (another policy, seed or renderer) by
overriding :meth:`PlatformMachine.make_journey`::

    class HostMachine(PlatformMachine):
        def make_journey(self) -> Journey:
            return Journey.start(seed=11, policy=unthrottled())

    TestHostMachine = HostMachine.TestCase

Over another store (SQL, say), override :meth:`PlatformMachine.read_store` too: it
returns that store's committed records as a :class:`StoreContents`.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

from attrs import evolve, frozen
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ..adapters.contents import StoreContents
from ..application.commands import (
    ClassicRegistration,
    EstablishmentIdentification,
    IdentifierRecovery,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
)
from ..application.platform import Platform
from ..application.results import (
    EstablishmentAlreadyEnrolled,
    EstablishmentMembers,
    EstablishmentNotEnrolled,
    NetEntreprisesLoggedIn,
    PasswordResetRequested,
    RegistrationPending,
)
from ..domain.errors import AccessNotYetOpenError, OnboardingError
from ..domain.events import DomainEvent
from ..domain.notifications import EmailNotification, OutboxMessage, PasswordResetRequest
from ..domain.rights import AccessLevel
from ..domain.values import Identifier
from .journeys import (
    CLINIC,
    CLINIC_CONTRACT,
    COMMUNE,
    COMMUNE_CONTRACT,
    HOSPITAL,
    HOSPITAL_CONTRACT,
    Journey,
    holder_form,
    net_entreprises_form,
    unthrottled,
)

__all__ = ["ACCOUNT_MOVES", "ENROLMENT_MOVES", "PlatformMachine", "StoreContents"]

# --- the spec, restated ----------------------------------------------------------------

NOT_ENROLLED: Final = "not_enrolled"
PENDING: Final = "pending"
ENROLLED: Final = "enrolled"

# E3 (and N4): every legal move of an enrolment, with the event kinds that record it (L1).
ENROLMENT_MOVES: Final[Mapping[tuple[str, str], frozenset[str]]] = {
    (NOT_ENROLLED, PENDING): frozenset({"registration_submitted"}),  # C5
    (PENDING, NOT_ENROLLED): frozenset({"registration_withdrawn", "registration_lapsed"}),  # C9, C6
    (PENDING, ENROLLED): frozenset({"access_opened"}),  # C8
    (NOT_ENROLLED, ENROLLED): frozenset({"establishment_enrolled"}),  # N4
}

PENDING_ACTIVATION: Final = "pending_activation"
ACTIVE: Final = "active"
BLOCKED: Final = "blocked"
EXPIRED: Final = "expired"
DELETED: Final = "deleted"
INVALIDATED: Final = "invalidated"
CLOSED: Final = frozenset({DELETED, INVALIDATED})  # nothing leaves them
OPEN: Final = frozenset({PENDING_ACTIVATION, ACTIVE, BLOCKED, EXPIRED})
NEW_ACCOUNT_STATES: Final = frozenset({PENDING_ACTIVATION, ACTIVE})  # C5, R5 / N3, N4

# A2: every legal move of an account, with the event kind that records it (L1).
ACCOUNT_MOVES: Final[Mapping[tuple[str, str], frozenset[str]]] = {
    (PENDING_ACTIVATION, ACTIVE): frozenset({"account_activated"}),  # C7
    (ACTIVE, BLOCKED): frozenset({"account_blocked"}),  # A4
    (BLOCKED, ACTIVE): frozenset({"account_unblocked"}),  # A5, R5
    (ACTIVE, EXPIRED): frozenset({"account_expired"}),  # A7
    (EXPIRED, ACTIVE): frozenset({"account_renewed"}),  # A7, R5
    **{(state, DELETED): frozenset({"account_deleted"}) for state in OPEN},  # C6, C9
    **{(state, INVALIDATED): frozenset({"account_invalidated"}) for state in OPEN},  # R5
}

ENROLMENT_EVENTS: Final = frozenset().union(*ENROLMENT_MOVES.values())
ACCOUNT_EVENTS: Final = frozenset().union(*ACCOUNT_MOVES.values()) | {"account_created"}

# A7: what restarts an account's 18 months (the latest counts).
LIFE_SIGNS: Final = frozenset(
    {
        "account_created",
        "account_activated",
        "login_succeeded",
        "access_opened",
        "account_renewed",
    }
)

ADMINISTRATOR: Final = "administrator"
USER: Final = "user"

# A7: what restarts an account's 18 months, as the spec names them (login, access
# opening, renewal); before any, they count from the account's start (see _expiry_bounds).
RESTARTS: Final = frozenset({"login_succeeded", "access_opened", "account_renewed"})

# R5's « Profil » and « Statut » columns, in the spec's words (R1, A2); closed accounts
# are not listed.
PROFILE_LABELS: Final[Mapping[str, str]] = {ADMINISTRATOR: "Administrateur", USER: "Utilisateur"}
STATE_LABELS: Final[Mapping[str, str]] = {
    PENDING_ACTIVATION: "En attente d'activation",
    ACTIVE: "Actif",
    BLOCKED: "Bloqué",
    EXPIRED: "Expiré",
}
IDENTIFIER: Final = re.compile(r"[A-Z]{3}[0-9]{6}")  # A1
WITHDRAWAL_URL: Final = re.compile(r"/desinscription\?jeton=([A-Za-z0-9_\-]+)")

CREATION: Final = "creation"
RESET: Final = "reset"
BY_APPLICANT: Final = "withdrawal_by_applicant"
BY_REPRESENTATIVE: Final = "withdrawal_by_legal_representative"

PERMISSION_DENIED: Final = "account.permission_denied"
ACCESS_NOT_YET_OPEN: Final = "login.access_not_yet_open"
ACCOUNT_BLOCKED: Final = "login.account_blocked"
ACCOUNT_STATE: Final = "login.account_state"
NOT_FOUND: Final = "account.not_found"
LINK_INVALID: Final = "link.no_longer_valid"
LOGIN_REFUSALS: Final = frozenset(
    {
        "login.invalid_credentials",
        "login.account_blocked",
        "login.account_state",
        "login.access_not_yet_open",
    }
)

# --- what the model plays with ----------------------------------------------------------

ESTABLISHMENTS: Final = (
    (COMMUNE, COMMUNE_CONTRACT),
    (HOSPITAL, HOSPITAL_CONTRACT),
    (CLINIC, CLINIC_CONTRACT),  # private (5710) with an FMIS contract: E4 on both paths
)
PEOPLE: Final = (("Jeanne", "Dupont"), ("Luc", "Moreau"), ("Éloïse", "N'Diaye"))
NET_ENTREPRISES_PEOPLE: Final = (("Martin", "Paul"), ("Bernard", "Marie"))  # nom, prénom
NET_ENTREPRISES_PASSWORD: Final = "ne-password"
WRONG_PASSWORD: Final = "Mauvais-mdp-0"
STRANGERS: Final = ("ZZZ999999", "pas-un-identifiant")  # unknown, and malformed
# R8: the professional contact details the model typed, by path: civilité, téléphone fixe
# (its digits), service/fonction (``holder_form`` and ``net_entreprises_form``'s own).
CLASSIC_CONTACT: Final = ("Madame", "0556114123", "Ressources humaines")
NET_ENTREPRISES_CONTACT: Final = ("Monsieur", "0556114124", "Finances")
JUMPS: Final = (
    "minutes",
    "days",
    "8 days",
    "next deadline",
    "minutes",
    "days",
    "15 days",
    "18 months",
)

T = TypeVar("T")


# The commune comes up twice as often as the others, so that sequences go deeper there.
_places = st.sampled_from((ESTABLISHMENTS[0], *ESTABLISHMENTS))
_picks = st.integers(min_value=0, max_value=63)


@frozen
class _AccountRow:
    state: str
    profile: str
    siret: str


# Which accounts an administrator action is most often tried on (any may be tried).
FITTING: Final[Mapping[str, Callable[[_AccountRow], bool]]] = {
    "renew": lambda row: row.state == EXPIRED,
    "unblock": lambda row: row.state == BLOCKED,
    "promote": lambda row: row.state in OPEN and row.profile != ADMINISTRATOR,
    "demote": lambda row: row.state in OPEN and row.profile == ADMINISTRATOR,
}


def _open(row: _AccountRow) -> bool:
    return row.state in OPEN


@frozen
class _LinkRow:
    identifier: str
    purpose: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None

    def usable(self, at: datetime) -> bool:
        """A8, restated: unused, not replaced, not expired."""
        return self.used_at is None and self.revoked_at is None and at < self.expires_at


@frozen
class _MessageRow:
    kind: str
    identifier: str | None
    siret: str
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None


@frozen
class _Snapshot:
    now: datetime
    enrolments: Mapping[str, tuple[str, str | None]]  # SIRET → (state, applicant)
    accounts: Mapping[str, _AccountRow]
    links: Mapping[str, _LinkRow]
    events: tuple[DomainEvent, ...]
    outbox: Mapping[str, _MessageRow]
    unsent: frozenset[str]

    def enrolment(self, siret: str) -> str:
        """Absent from the store means never enrolled (E3)."""
        row = self.enrolments.get(siret)
        return row[0] if row else NOT_ENROLLED


@frozen
class _Token:
    """A raw token seen in an e-mail or a letter, and when and for whom it was issued."""

    value: str
    purpose: str
    owner: str  # the account's identifier; the SIRET for the letter's withdrawal code
    siret: str
    seq: int  # issue order: the position of its message in the outbox
    issued_at: datetime


@frozen
class _Person:
    identifier: str
    siret: str
    first_name: str
    last_name: str
    email: str


@frozen
class _Reading:
    """R8 restated: what reading « Mes intervenants » must answer (``refusal`` is None
    for the list) and what time makes of the reader's account and enrolment meanwhile."""

    refusal: str | None
    state: str | None  # the reader's account state after the read (None: a stranger)
    enrolment: str | None  # the reader's establishment's enrolment state after the read
    or_expired: bool = False  # A7's start is ambiguous here: an expiry is also right


@frozen
class _Ticket:
    value: str
    siret: str
    last_name: str
    first_name: str
    expires_at: datetime


def _months_later(moment: datetime, months: int) -> datetime:
    """Calendar months, the day clamped to the target month's length."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


class PlatformMachine(RuleBasedStateMachine):
    """Random sequences of every use case over a few sample establishments (with their
    contracts); the spec's invariants are checked after every step."""

    def make_journey(self) -> Journey:
        """The hook hosts override: the journey (platform and in-memory world) to drive.

        The model does not restate the rate limits (P1): they count wall-clock seconds,
        which a random sequence of a hundred steps crosses in a blink, so its journey
        lifts them (:func:`~peps_onboarding.testing.journeys.unthrottled`)."""
        return Journey.start(policy=unthrottled())

    def read_store(self) -> StoreContents:
        """The hook a machine over another store overrides: every committed record of the
        journey's store. By default the in-memory database's, read under its lock; its
        index of unsent messages is checked against the messages (M3)."""
        database = self.journey.world.database
        with database.lock:
            unsent = set(database.unsent)
            contents = StoreContents(
                enrolments=tuple(database.enrolments.values()),
                accounts=tuple(database.accounts.values()),
                links=tuple(database.links.values()),
                events=tuple(database.events),
                outbox=tuple(database.outbox.values()),
            )
        assert unsent == {m.id for m in contents.outbox if m.sent_at is None}, (
            "M3: the unsent index is not the messages not yet sent"
        )
        return contents

    def __init__(self) -> None:
        super().__init__()
        self.journey = self.make_journey()
        self.people: dict[str, _Person] = {}
        self.passwords: dict[str, str] = {}
        self.tokens: list[_Token] = []
        self.used_tokens: set[str] = set()
        self.seen_tokens: set[str] = set()
        self.tickets: list[_Ticket] = []
        self.spent_tickets: set[str] = set()  # N3, N4: a ticket makes one account
        self.net_entreprises: set[str] = set()  # the identifiers of N-E accounts
        self.day_j: dict[str, datetime] = {}
        self.applicants: dict[str, datetime] = {}  # a registration's applicant → its day J
        self._emails = 0
        self._mails_read = 0
        self._letters_read = 0
        self._mail_failures = 0
        self._letter_failures = 0
        self._swept = False
        self._snapshot = self._take()

    @property
    def platform(self) -> Platform:
        return self.journey.platform

    # === the use cases =================================================================

    @initialize(members=st.integers(min_value=0, max_value=2), with_user=st.booleans())
    def some_establishment_joined(self, members: int, with_user: bool) -> None:
        """A head start, so that sequences reach administration and passwords sooner:
        ``members`` people join the commune through Net-Entreprises (the first enrols it,
        N4; then users, N3); the administrator may create a user who sets a password, and
        sign in again the next day."""
        for person in NET_ENTREPRISES_PEOPLE[:members]:
            self.sign_in_with_net_entreprises(ESTABLISHMENTS[0], person, True, True)
            self.the_spec_holds()  # each use case is a step of its own
        if members and with_user:
            self.create_user(0, True, PEOPLE[1])
            self.the_spec_holds()
            self.create_password(0, True)
            self.the_spec_holds()
            # The administrator comes back the next day: their 18 months end later (A7).
            self.time_passes("days", 3, then=False)
            self.the_spec_holds()
            self.sign_in_with_net_entreprises(
                ESTABLISHMENTS[0], NET_ENTREPRISES_PEOPLE[0], right=True, complete=False
            )
            self.the_spec_holds()

    @rule(place=_places)
    def identify_establishment(self, place: tuple[str, str]) -> None:
        """C1–C3: step 1 answers according to the enrolment state."""
        siret, contract = place
        result = self.platform.identify_establishment(
            EstablishmentIdentification(
                siret=siret, contract_number=contract, captcha_response="trombone"
            )
        )
        state = self._enrolment_now(siret)
        if state == ENROLLED:
            assert isinstance(result, EstablishmentAlreadyEnrolled), result
            assert result.administrator_count == len(self._administrators(siret)), result
        elif state == PENDING:
            assert isinstance(result, RegistrationPending), result
        else:
            assert isinstance(result, EstablishmentNotEnrolled), result

    @rule(place=_places, person=st.sampled_from(PEOPLE))
    def register(self, place: tuple[str, str], person: tuple[str, str]) -> None:
        """C4, C5, E6: a not-enrolled establishment is registered; otherwise refused."""
        siret, contract = place
        first_name, last_name = person
        email = self._new_email()
        state = self._enrolment_now(siret)
        submitted, refused = _attempt(
            lambda: self.platform.register(
                ClassicRegistration(
                    proof=self.journey.proof(siret, contract),
                    holder=holder_form(first_name, last_name, email=email),
                    terms_accepted=True,
                )
            )
        )
        if submitted is None:
            expected = {
                NOT_ENROLLED: "(none: registration must succeed)",
                PENDING: "establishment.registration_in_progress",
                ENROLLED: "establishment.already_enrolled",
            }[state]
            assert refused == expected, f"E6: register in state {state}: {refused}"
            return
        assert state == NOT_ENROLLED, f"E6: a second registration was accepted ({state})"
        now = self.journey.clock.now()
        self.day_j[siret] = self._access_opening(now)
        self.applicants[submitted.identifier] = self.day_j[siret]
        self.people[submitted.identifier] = _Person(
            submitted.identifier, siret, first_name, last_name, email
        )

    @rule(place=_places)
    def resend_creation_link(self, place: tuple[str, str]) -> None:
        """C3: only a pending registration gets a new link, and only before the password."""
        siret, contract = place
        state, applicant = self._snapshot.enrolments.get(siret, (NOT_ENROLLED, None))
        lapsed = (
            state == PENDING
            and applicant is not None
            and self._snapshot.accounts[applicant].state == PENDING_ACTIVATION
            and self._creation_lapsed(applicant, self._snapshot)
        )
        result, refused = _attempt(
            lambda: self.platform.resend_creation_link(self.journey.proof(siret, contract))
        )
        if result is None:
            # C6, T1: 15 days without a password delete the account when it is used, as
            # the sweep would: the registration must start again, not get a new link.
            assert state != PENDING or lapsed, (
                f"C3: the pending registration got no new link: {refused}"
            )
            return
        assert not lapsed, f"C6/T1: a new link revived {applicant} after 15 days"
        assert state == PENDING and applicant is not None, f"C3: resent in state {state}"
        waiting = self._snapshot.accounts[applicant].state == PENDING_ACTIVATION
        assert result.sent == waiting, (result, self._snapshot.accounts[applicant])

    @precondition(lambda self: self._owes("password_creation"))
    @rule(pick=_picks, latest=st.booleans())
    def create_password(self, pick: int, latest: bool) -> None:
        """C6, C7, A8: with the last creation link mailed, or sometimes an older one."""
        self._dispatch()
        token = self._token((CREATION,), pick, latest=latest)
        if token is None:
            return
        password = f"Motdepasse-{pick}"
        before = self._snapshot.accounts.get(token.owner)
        created, refused = _attempt(
            lambda: self.platform.create_password(token.value, password, password)
        )
        if created is None:
            assert refused == LINK_INVALID, refused
            return
        self._assert_fresh(token, self.platform.policy.creation_link_validity)
        assert before is not None and before.state == PENDING_ACTIVATION, before
        assert not self._creation_lapsed(token.owner, self._snapshot), (
            "C3/C6: a resent link outlived the 15 days counted from the first e-mail"
        )
        self.used_tokens.add(token.value)
        self.passwords[token.owner] = password

    @precondition(lambda self: self._owes("classic_enrolment"))
    @rule(pick=_picks, latest=st.booleans())
    def withdraw_registration(self, pick: int, latest: bool) -> None:
        """C9: the applicant (e-mail link) or the legal representative (letter code)."""
        self._dispatch()
        token = self._token((BY_APPLICANT, BY_REPRESENTATIVE), pick, latest=latest)
        if token is None:
            return
        state = self._snapshot.enrolment(token.siret)
        result, refused = _attempt(lambda: self.platform.withdraw_registration(token.value))
        if result is None:
            assert refused == LINK_INVALID, refused
            return
        assert result.siret == token.siret, result
        assert state == PENDING, f"C9: withdrew a registration in state {state}"
        # C9: until access actually opens: day J with a password, or the 15 days' lapse
        # while there is none (C6).
        _, applicant = self._snapshot.enrolments[token.siret]
        assert applicant is not None
        waiting = self._snapshot.accounts[applicant].state == PENDING_ACTIVATION
        assert self.journey.clock.now() < self.day_j[token.siret] or waiting, (
            "C9: withdrawn after access opened on day J"
        )
        assert not (waiting and self._creation_lapsed(applicant, self._snapshot)), (
            "C9/C6: withdrawn after the registration lapsed"
        )
        self._assert_fresh(token, None)
        self.used_tokens.add(token.value)

    @rule(
        place=_places,
        person=st.sampled_from(NET_ENTREPRISES_PEOPLE),
        right=st.booleans(),
        complete=st.booleans(),
    )
    def sign_in_with_net_entreprises(
        self, place: tuple[str, str], person: tuple[str, str], right: bool, complete: bool
    ) -> None:
        """N1, N5, N6: refused credentials, registration in progress, or a ticket."""
        siret, _ = place
        last_name, first_name = person
        self.journey.world.net_entreprises.register(
            siret=siret,
            last_name=last_name,
            first_name=first_name,
            password=NET_ENTREPRISES_PASSWORD,
        )
        state = self._enrolment_now(siret)
        existing = self._net_entreprises_account(siret, last_name, first_name)
        result, refused = _attempt(
            lambda: self.platform.sign_in_with_net_entreprises(
                NetEntreprisesCredentials(
                    siret=siret,
                    last_name=last_name,
                    first_name=first_name,
                    password=NET_ENTREPRISES_PASSWORD if right else WRONG_PASSWORD,
                )
            )
        )
        if result is None:
            if not right:
                expected = "net_entreprises.refused"
            elif state == PENDING:
                expected = "establishment.registration_in_progress"
            else:
                assert existing is not None, f"N1: refused a new person: {refused}"
                expected = "login.account_state"
            assert refused == expected, f"N-E sign-in: {refused}, expected {expected}"
            return
        assert right, "N1: signed in with a wrong Net-Entreprises password"
        assert state != PENDING, "N5: a pending registration let a Net-Entreprises sign-in"
        if isinstance(result, NetEntreprisesLoggedIn):
            assert result.identifier == existing, (result, existing)
            assert self._snapshot.accounts[result.identifier].state == ACTIVE, "A4: not active"
            assert not self._lifetime_over(result.identifier, self._snapshot), "A7/T1: expired"
            return
        assert existing is None, f"N3: a second account for the same person ({existing})"
        profile = "user" if state == ENROLLED else ADMINISTRATOR
        assert result.profile == profile, f"N3/N4: {result.profile} in state {state}"
        self.tickets.append(
            _Ticket(result.ticket, siret, last_name, first_name, result.ticket_expires_at)
        )
        if complete:
            self._complete(self.tickets[-1])

    @precondition(lambda self: bool(self.tickets))
    @rule(pick=_picks)
    def complete_net_entreprises(self, pick: int) -> None:
        """N3, N4, E6: a ticket kept from an earlier sign-in (possibly stale) is used."""
        self._complete(self.tickets[pick % len(self.tickets)])

    @rule(
        pick=_picks,
        has_password=st.booleans(),
        right=st.booleans(),
        attempts=st.integers(min_value=1, max_value=3),
    )
    def login(self, pick: int, has_password: bool, right: bool, attempts: int) -> None:
        """A4, C8: only an active account of an open establishment, with its password;
        a wrong password is tried ``attempts`` times in a row."""
        identifier = self._pick_identifier(pick, has_password=has_password)
        if not right:
            for _ in range(attempts):
                wrong, refused = _attempt(lambda: self.platform.login(identifier, WRONG_PASSWORD))
                assert wrong is None, "A4: a wrong password was accepted"
                assert refused in LOGIN_REFUSALS, refused
            return
        password = self.passwords.get(identifier, "Motdepasse-0")
        before = self._snapshot
        result, refused = _attempt(lambda: self.platform.login(identifier, password))
        if result is None:
            assert refused in LOGIN_REFUSALS, refused
            return
        assert result.identifier == identifier
        row = before.accounts[identifier]
        assert row.state == ACTIVE, f"A4: a login succeeded in state {row.state}"
        assert not self._lifetime_over(identifier, before), f"A7/T1: {identifier} expired"
        assert self.passwords.get(identifier) == password, "A4: an unknown password worked"
        state, applicant = before.enrolments.get(row.siret, (NOT_ENROLLED, None))
        day_j = self.day_j.get(row.siret)
        opening = state == PENDING and applicant == identifier and day_j is not None
        assert state == ENROLLED or (
            opening and day_j is not None and self.journey.clock.now() >= day_j
        ), f"C8: logged in while the establishment is {state}"
        assert self._take().enrolment(row.siret) == ENROLLED, "C8: logged in, not enrolled"

    @rule(pick=_picks, has_password=st.booleans())
    def request_password_reset(self, pick: int, has_password: bool) -> None:
        """A5: the same answer whether or not the account exists."""
        identifier = self._pick_identifier(pick, has_password=has_password)
        answer = self.platform.request_password_reset(identifier)
        assert answer == PasswordResetRequested()

    @precondition(lambda self: self._owes("password_reset") or self._owes("password_reset_request"))
    @rule(pick=_picks, latest=st.booleans())
    def reset_password(self, pick: int, latest: bool) -> None:
        """A5, A8: the last reset link (or an older one) sets a password and unblocks."""
        self._dispatch()
        token = self._token((RESET,), pick, latest=latest)
        if token is None:
            return
        password = f"Nouveau-mdp-{pick}"
        before = self._snapshot.accounts.get(token.owner)
        done, refused = _attempt(
            lambda: self.platform.reset_password(token.value, password, password)
        )
        if done is None:
            assert refused == LINK_INVALID, refused
            return
        self._assert_fresh(token, self.platform.policy.reset_link_validity)
        assert before is not None and before.state in (ACTIVE, BLOCKED, EXPIRED), before
        assert done.unblocked == (before.state == BLOCKED)
        self.used_tokens.add(token.value)
        self.passwords[token.owner] = password

    @rule(pick=_picks, blocked=st.booleans())
    def forgotten_password(self, pick: int, blocked: bool) -> None:
        """A5: « Mot de passe oublié » in one go: ask, receive the e-mail, use its link
        (``blocked``: preferably for a blocked account, which the reset unblocks)."""
        accounts = self._snapshot.accounts
        candidates = [i for i in self.passwords if blocked and accounts[i].state == BLOCKED]
        if not candidates:
            candidates = [self._pick_identifier(pick, has_password=True)]
        identifier = candidates[pick % len(candidates)]
        assert self.platform.request_password_reset(identifier) == PasswordResetRequested()
        self._dispatch()
        resets = [t for t in self.tokens if t.purpose == RESET]
        mine = [n for n, t in enumerate(resets) if t.owner == identifier]
        if mine:
            self.reset_password(mine[-1], True)

    @rule(actor=_picks, administrator=st.booleans(), person=st.sampled_from(PEOPLE))
    def create_user(self, actor: int, administrator: bool, person: tuple[str, str]) -> None:
        """R5, R6: only an active administrator of an enrolled establishment creates users."""
        who = self._pick_actor(actor, administrator=administrator)
        first_name, last_name = person
        email = self._new_email()
        created, refused = _attempt(
            lambda: self.platform.create_user(who, holder_form(first_name, last_name, email=email))
        )
        if created is None:
            assert not self._can_administer(who) or self._expired_now(who), (
                f"R5: an administrator was refused: {refused}"
            )
            assert refused == self._refusal_of(who), refused
            return
        assert self._can_administer(who), f"R6: {who} created a user"
        siret = self._snapshot.accounts[who].siret
        self.people[created.identifier] = _Person(
            created.identifier, siret, first_name, last_name, email
        )

    @rule(
        actor=_picks,
        administrator=st.booleans(),
        subject=_picks,
        colleague=st.booleans(),
        service=st.integers(min_value=0, max_value=7),
        level=st.sampled_from(AccessLevel),
    )
    def set_right(
        self,
        actor: int,
        administrator: bool,
        subject: int,
        colleague: bool,
        service: int,
        level: AccessLevel,
    ) -> None:
        """R3, R5, R6: grant, change or revoke a right."""
        services = self.platform.policy.services
        code = services[service % len(services)].code
        self._administer(
            "set_right",
            self._pick_actor(actor, administrator=administrator),
            subject,
            colleague,
            lambda who, whom: self.platform.set_right(who, whom, code, level),
        )

    @rule(actor=_picks, administrator=st.booleans(), subject=_picks, colleague=st.booleans())
    def invalidate(self, actor: int, administrator: bool, subject: int, colleague: bool) -> None:
        """R5, A2, E5: « infirmer » an account, never the last administrator."""
        who = self._pick_actor(actor, administrator=administrator)
        self._administer("invalidate", who, subject, colleague, self.platform.invalidate)

    @rule(actor=_picks, administrator=st.booleans(), subject=_picks, colleague=st.booleans())
    def renew(self, actor: int, administrator: bool, subject: int, colleague: bool) -> None:
        """R5, A7: renew an expired account."""
        who = self._pick_actor(actor, administrator=administrator)
        self._administer("renew", who, subject, colleague, self.platform.renew)

    @rule(actor=_picks, administrator=st.booleans(), subject=_picks, colleague=st.booleans())
    def unblock(self, actor: int, administrator: bool, subject: int, colleague: bool) -> None:
        """R5: unblock a blocked account."""
        who = self._pick_actor(actor, administrator=administrator)
        self._administer("unblock", who, subject, colleague, self.platform.unblock)

    @rule(actor=_picks, administrator=st.booleans(), subject=_picks, colleague=st.booleans())
    def promote(self, actor: int, administrator: bool, subject: int, colleague: bool) -> None:
        """R5: a user becomes administrator."""
        who = self._pick_actor(actor, administrator=administrator)
        self._administer("promote", who, subject, colleague, self.platform.promote)

    @rule(actor=_picks, administrator=st.booleans(), subject=_picks, colleague=st.booleans())
    def demote(self, actor: int, administrator: bool, subject: int, colleague: bool) -> None:
        """R5, E5: an administrator becomes user, never the last one."""
        who = self._pick_actor(actor, administrator=administrator)
        self._administer("demote", who, subject, colleague, self.platform.demote)

    @precondition(lambda self: bool(self.people))
    @rule(pick=_picks)
    def recover_identifier(self, pick: int) -> None:
        """A6: shown when SIRET, names and e-mail match one open account."""
        person = list(self.people.values())[pick % len(self.people)]
        open_ = self._snapshot.accounts[person.identifier].state not in CLOSED
        found, refused = _attempt(
            lambda: self.platform.recover_identifier(
                IdentifierRecovery(
                    siret=person.siret,
                    last_name=person.last_name,
                    first_name=person.first_name,
                    email=person.email,
                )
            )
        )
        if found is None:
            assert not open_ and refused == "identifier.not_found", refused
            return
        assert open_ and found.identifier == person.identifier, found

    @rule(place=_places, actor=_picks, administrator=st.booleans())
    def read_views(self, place: tuple[str, str], actor: int, administrator: bool) -> None:
        """L1, R5, R7: history in order, administrators' names, members list."""
        siret, contract = place
        history = self.platform.history(siret)
        events = self.read_store().events
        assert list(history) == [e for e in events if e.siret == siret], "L1: history"
        names = self.platform.administrators(self.journey.proof(siret, contract))
        assert len(names) == len(self._administrators(siret)), names
        who = self._pick_actor(actor, administrator=administrator)
        members, refused = _attempt(lambda: self.platform.list_members(who))
        if members is None:
            assert not self._can_administer(who) or self._expired_now(who), (
                f"R5: an administrator was refused: {refused}"
            )
            assert refused == self._refusal_of(who), refused
            return
        assert self._can_administer(who), f"R6: {who} listed members"
        own = self._snapshot.accounts[who].siret
        expected = {
            i for i, a in self._snapshot.accounts.items() if a.siret == own and a.state in OPEN
        }
        assert {m.identifier for m in members.members} == expected

    @rule(pick=_picks, state=st.sampled_from((ACTIVE, ACTIVE, BLOCKED, PENDING_ACTIVATION, "")))
    def read_establishment_members(self, pick: int, state: str) -> None:
        """R8, R6, A4, C8, T1: « Mes intervenants » read by anyone known, in any state and
        of any establishment, or by a stranger (``state``: preferably an account in it).
        Only an active member of an enrolled establishment reads it, user or
        administrator; anyone else is told their account's state as at login, or that
        rights are lacking. What time decided about the reader's own account (a lapse, an
        expiry, day J) stands, as when the account is used. A user still lists nothing
        through R5's management view (R6)."""
        accounts = self._snapshot.accounts
        fitting = [i for i in sorted(accounts) if accounts[i].state == state]
        who = fitting[pick % len(fitting)] if fitting else self._pick_actor(pick)
        expected = self._reading(who)
        seen, refused = None, None
        try:
            seen = self.platform.establishment_members(who)
        except OnboardingError as error:
            refused = error
        after = self._take()
        row = accounts.get(who)
        if row is not None:
            now, enrolment = after.accounts[who].state, after.enrolment(row.siret)
            if expected.or_expired and refused is not None and now == EXPIRED:
                assert refused.code == ACCOUNT_STATE, f"A7: {who} expired as they read: {refused}"
            else:
                assert (now, enrolment) == (expected.state, expected.enrolment), (
                    f"T1: {who} read « Mes intervenants »: now {now}, {enrolment}; "
                    f"expected {expected}"
                )
                self._check_reading(who, expected, seen, refused)
            if row.profile == USER:
                _, listed = _attempt(lambda: self.platform.list_members(who))
                assert listed == PERMISSION_DENIED, f"R6: user {who} listed members: {listed}"
        else:
            self._check_reading(who, expected, seen, refused)

    def _check_reading(
        self,
        who: str,
        expected: _Reading,
        seen: EstablishmentMembers | None,
        refused: OnboardingError | None,
    ) -> None:
        """R8: the refusal predicted, or the list as the model's accounts make it."""
        if seen is None:
            assert refused is not None
            assert refused.code == expected.refusal, (
                f"R8: {who} ({self._snapshot.accounts.get(who)}) reading « Mes intervenants »"
                f" was told {refused.code}, expected {expected.refusal}"
            )
            if isinstance(refused, AccessNotYetOpenError):  # C8: from day J, local date
                day_j = self.applicants[who]
                assert refused.access_from == day_j.date(), (refused.access_from, day_j)
            return
        assert expected.refusal is None, f"R8: {who} read the list, expected {expected.refusal}"
        row = self._snapshot.accounts[who]
        assert (seen.viewer, seen.siret) == (who, row.siret), seen
        is_administrator = row.profile == ADMINISTRATOR
        assert seen.viewer_is_administrator == is_administrator, seen
        members = {
            i: a for i, a in self._snapshot.accounts.items() if a.siret == row.siret and _open(a)
        }
        rows = {r.identifier: r for r in seen.members}
        assert len(rows) == len(seen.members), f"R8: a member listed twice {seen.members}"
        assert set(rows) == set(members), f"R8: listed {sorted(rows)}, members {sorted(members)}"
        for identifier, shown in rows.items():
            account, person = members[identifier], self.people[identifier]
            _, _, service = self._contact(identifier)
            assert (shown.profile, shown.status) == (
                PROFILE_LABELS[account.profile],
                STATE_LABELS[account.state],
            ), f"R5: {identifier} {account} shown {shown.profile}, {shown.status}"
            assert (shown.last_name, shown.first_name, shown.service) == (
                person.last_name,
                person.first_name,
                service,
            ), shown
            assert shown.net_entreprises == (identifier in self.net_entreprises), shown
        administrators = {i for i, a in members.items() if a.profile == ADMINISTRATOR}
        contacts = {c.identifier: c for c in seen.administrators}
        assert len(contacts) == len(seen.administrators), seen.administrators
        assert set(contacts) == administrators, f"R8: contacts of {sorted(contacts)}"
        for identifier, contact in contacts.items():
            person = self.people[identifier]
            civility, phone, service = self._contact(identifier)
            assert (contact.email, contact.civility, contact.service) == (
                person.email,
                civility,
                service,
            ), contact
            assert contact.phone.replace(" ", "") == phone, contact
            assert (contact.last_name, contact.first_name) == (person.last_name, person.first_name)
            assert contact.status == STATE_LABELS[members[identifier].state], contact
        # R5: the single-administrator warning, to administrators only (a user cannot
        # designate a second one); an administrator reads the rows of R5's own view.
        single = len(administrators) < 2
        assert (seen.warning is not None) == (is_administrator and single), seen.warning
        if is_administrator:
            managed = self.platform.list_members(who)
            # The same rows; only the administrators' view carries the rights (R3).
            listed = tuple(evolve(row, rights=()) for row in managed.members)
            assert listed == seen.members, "R8/R5: two lists of the same members"

    def _reading(self, who: str) -> _Reading:
        """R8 with A4, C6, C8, A7 and T1, restated from the model's state: the outcome of
        ``who`` reading « Mes intervenants » now."""
        snapshot = self._snapshot
        row = snapshot.accounts.get(who)
        if row is None:  # R8: names nobody, says nothing about who exists
            return _Reading(PERMISSION_DENIED, None, None)
        # As stored: only the reader's own account is brought up to date (a closed account
        # of a re-registered establishment leaves its new applicant's lapse to the sweep).
        enrolment, applicant = snapshot.enrolments.get(row.siret, (NOT_ENROLLED, None))
        if row.state == PENDING_ACTIVATION:
            if self._creation_lapsed(who, snapshot):  # C6, T1: deleted as it is used
                if applicant == who:
                    enrolment = NOT_ENROLLED  # and its registration lapses
                return _Reading(ACCOUNT_STATE, DELETED, enrolment)
            return _Reading(ACCOUNT_STATE, row.state, enrolment)
        if row.state == BLOCKED:  # A4: « Votre compte est bloqué… »
            return _Reading(ACCOUNT_BLOCKED, row.state, enrolment)
        if row.state != ACTIVE:  # A4: expired, or closed
            return _Reading(ACCOUNT_STATE, row.state, enrolment)
        early, late = self._expiry_bounds(who)
        if snapshot.now >= late:  # A7, T1: expired as it is used
            return _Reading(ACCOUNT_STATE, EXPIRED, enrolment)
        ambiguous = snapshot.now >= early
        if enrolment == PENDING and applicant == who:
            if snapshot.now < self.day_j[row.siret]:  # C8: « … à compter du JJ/MM/AAAA »
                return _Reading(ACCESS_NOT_YET_OPEN, ACTIVE, enrolment, ambiguous)
            enrolment = ENROLLED  # C8, T1: day J came before the sweep
        if enrolment != ENROLLED:
            return _Reading(PERMISSION_DENIED, ACTIVE, enrolment, ambiguous)
        return _Reading(None, ACTIVE, enrolment, ambiguous)

    def _expiry_bounds(self, identifier: str) -> tuple[datetime, datetime]:
        """A7, restated: 18 months from the account's last login, access opening or
        renewal; before any of those, from its start: day J for a registration's
        applicant (their access opening, C8), else its creation (a Net-Entreprises
        account is usable at once). For an account an administrator created, the spec's
        « access opening » reads as its creation or as its activation (its password):
        the two bounds, so that a moment between them accepts either answer."""
        events = [e for e in self._snapshot.events if e.account == identifier]
        start = self.applicants.get(identifier)
        if start is None:
            start = next(e.at for e in events if e.kind == "account_created")
        signs = [start, *(e.at for e in events if e.kind in RESTARTS)]
        activated = [e.at for e in events if e.kind == "account_activated"]
        months = self.platform.policy.account_lifetime_months
        early = _months_later(max(signs).astimezone(UTC), months)
        late = _months_later(max([*signs, *activated]).astimezone(UTC), months)
        return early, late

    def _contact(self, identifier: str) -> tuple[str, str, str]:
        """The civilité, téléphone fixe digits and service/fonction the model typed."""
        return NET_ENTREPRISES_CONTACT if identifier in self.net_entreprises else CLASSIC_CONTACT

    @rule()
    def sweep(self) -> None:
        """T1: the sweep enforces the deadlines and is idempotent."""
        self.platform.sweep()
        again = self.platform.sweep()
        changed = (
            again.registrations_lapsed,
            again.accounts_deleted,
            again.access_opened,
            again.accounts_expired,
        )
        assert changed == (0, 0, 0, 0), f"T1: a second sweep at the same instant did {again}"
        self._swept = True

    @rule(
        jump=st.sampled_from(JUMPS),
        amount=st.integers(min_value=1, max_value=59),
        then=st.booleans(),
    )
    def time_passes(self, jump: str, amount: int, then: bool) -> None:
        """T1: minutes, 1–3 days, 8 days, 15 days, 18 months, or exactly to the next
        deadline (a creation link's end, day J, an expiry); sometimes a sweep follows."""
        clock = self.journey.clock
        if jump == "next deadline":
            clock.set(self._next_deadline() or clock.now() + timedelta(days=1))
        elif jump == "minutes":
            clock.advance(timedelta(minutes=amount))
        elif jump == "days":
            clock.advance(timedelta(days=1 + amount % 3))
        elif jump == "8 days":
            clock.advance(timedelta(days=8))
        elif jump == "15 days":
            clock.advance(timedelta(days=15))
        else:
            clock.set(_months_later(clock.now(), 18))
        if then:
            self.sweep()

    @rule(count=st.integers(min_value=1, max_value=3), letters=st.booleans())
    def deliveries_fail(self, count: int, letters: bool) -> None:
        """M3: the mailer (or the letter service) fails its next ``count`` sends."""
        if letters:
            self.journey.world.letters.fail_next(count)
            self._letter_failures = count
        else:
            self.journey.world.mailer.fail_next(count)
            self._mail_failures = count

    @rule()
    def dispatch_notifications(self) -> None:
        """M3: deliver what is due."""
        self._dispatch()

    @precondition(lambda self: bool(self._snapshot.unsent))
    @rule()
    def everything_owed_arrives(self) -> None:
        """M3: once the services work again and the backoff has passed, nothing is left."""
        self.journey.world.mailer.fail_next(0)
        self.journey.world.letters.fail_next(0)
        self._mail_failures = self._letter_failures = 0
        self.journey.clock.advance(self.platform.policy.notification_retry_max)
        self._dispatch()
        unsent = [m.id for m in self.read_store().outbox if m.sent_at is None]
        assert not unsent, f"M3: a notification was never delivered: {unsent}"

    # === the invariants ================================================================

    @invariant()
    def the_spec_holds(self) -> None:
        """Every invariant, on the new state and on the step from the last snapshot."""
        before, after = self._snapshot, self._take()
        try:
            self._check_state(after)
            self._check_step(before, after)
        finally:
            self._snapshot = after
            self._swept = False

    def _check_state(self, now: _Snapshot) -> None:
        # A1: identifiers are 3 letters and 6 digits (uniqueness: they are the store's keys).
        for identifier in now.accounts:
            assert IDENTIFIER.fullmatch(identifier), f"A1: {identifier!r}"
        # E5, E6 and E3's consistency of accounts with the enrolment.
        for siret in {a.siret for a in now.accounts.values()} | set(now.enrolments):
            state, applicant = now.enrolments.get(siret, (NOT_ENROLLED, None))
            live = {i for i, a in now.accounts.items() if a.siret == siret and a.state in OPEN}
            if state == ENROLLED:
                assert self._administrators(siret, now), f"E5: {siret} has no administrator"
            elif state == PENDING:
                assert applicant is not None and live == {applicant}, (
                    f"E6: pending {siret} has live accounts {live}, applicant {applicant}"
                )
                assert now.accounts[applicant].profile == ADMINISTRATOR
            else:
                assert not live, f"E3: not-enrolled {siret} has live accounts {live}"
        # A8: at most one usable link per (account, purpose); only hashes are stored.
        usable = Counter(
            (link.identifier, link.purpose) for link in now.links.values() if link.usable(now.now)
        )
        assert all(n == 1 for n in usable.values()), f"A8: several usable links {usable}"
        assert not self.seen_tokens & set(now.links), "A8: a raw token is stored"
        # M3: the unsent set is exactly the messages not yet sent, each sent one once.
        assert now.unsent == {i for i, m in now.outbox.items() if m.sent_at is None}
        deliveries = Counter(m.message_id for m in self.journey.world.mailer.sent)
        deliveries.update(letter.letter_id for letter in self.journey.world.letters.sent)
        for message_id, message in now.outbox.items():
            # A reset request is resolved, never delivered (P2): its e-mail is its own row.
            sent = message.sent_at is not None and message.kind != "password_reset_request"
            expected = 1 if sent else 0
            assert deliveries[message_id] == expected, f"M3: {message_id} delivered ×{expected}"
        assert set(deliveries) <= set(now.outbox), "M3: a delivery nobody owed"

    def _check_step(self, before: _Snapshot, after: _Snapshot) -> None:
        # L1: the history only grows; what was appended happened now.
        assert after.events[: len(before.events)] == before.events, "L1: history rewritten"
        new_events = after.events[len(before.events) :]
        for event in new_events:
            assert event.at == after.now, f"L1: {event.kind} dated {event.at}, now {after.now}"
            assert event.actor, f"L1: {event.kind} without an actor"
        self._check_enrolments(before, after, new_events)
        self._check_accounts(before, after, new_events)
        self._check_links(before, after)
        self._check_outbox(before, after, new_events)
        if self._swept:
            self._check_swept(after)

    def _check_enrolments(
        self, before: _Snapshot, after: _Snapshot, events: Sequence[DomainEvent]
    ) -> None:
        """E3, E6, L1: one legal move per establishment per step, recorded by its event."""
        kinds: dict[str, list[str]] = {}
        for event in events:
            if event.kind in ENROLMENT_EVENTS:
                kinds.setdefault(event.siret, []).append(event.kind)
        for siret in set(before.enrolments) | set(after.enrolments) | set(kinds):
            old, new = before.enrolment(siret), after.enrolment(siret)
            recorded = kinds.get(siret, [])
            if recorded[:1] == ["registration_lapsed"] and len(recorded) == 2:
                # C6/T1: a use case that finds the pending registration's 15 days over
                # lapses it first (as the sweep would), then makes its own move: the only
                # chain of two moves in one step.
                assert old == PENDING, f"C6: lapsed from {old}"
                assert (NOT_ENROLLED, new) in ENROLMENT_MOVES, f"E3: lapsed then {new}"
                assert recorded[1] in ENROLMENT_MOVES[(NOT_ENROLLED, new)], recorded
                continue
            if old == new:
                assert not recorded, f"L1: {recorded} for {siret} without a change ({old})"
                continue
            assert (old, new) in ENROLMENT_MOVES, f"E3/E6: {siret} went {old} → {new}"
            # Otherwise a use case moves an enrolment at most once per step.
            assert len(recorded) == 1, f"L1: {siret} {old} → {new} recorded by {recorded}"
            assert recorded[0] in ENROLMENT_MOVES[(old, new)], f"L1: {old} → {new}: {recorded}"

    def _check_accounts(
        self, before: _Snapshot, after: _Snapshot, events: Sequence[DomainEvent]
    ) -> None:
        """A2, A1, L1: one legal move per account per step, recorded by its event."""
        recorded: dict[str, list[DomainEvent]] = {}
        profiles: dict[str, list[object]] = {}
        for event in events:
            if event.account is not None and event.kind in ACCOUNT_EVENTS:
                recorded.setdefault(event.account, []).append(event)
            if event.kind == "profile_changed" and event.account is not None:
                profiles.setdefault(event.account, []).append(getattr(event, "profile", None))
        assert set(before.accounts) <= set(after.accounts), "A1: an account disappeared"
        assert set(recorded) <= set(after.accounts), f"L1: events of unknown accounts {recorded}"
        for identifier, new in after.accounts.items():
            mine = recorded.get(identifier, [])
            assert all(e.siret == new.siret for e in mine), f"L1: {identifier} wrong SIRET"
            old = before.accounts.get(identifier)
            if old is None:
                # A1: a new identifier was never used before (accounts are never removed).
                assert new.state in NEW_ACCOUNT_STATES, f"A2: {identifier} born {new.state}"
                assert [e.kind for e in mine] == ["account_created"], f"L1: {identifier} {mine}"
                assert getattr(mine[0], "state", None) == new.state, f"L1: {mine[0]}"
                continue
            assert new.siret == old.siret, f"{identifier} changed establishment"
            if new.profile != old.profile:
                assert old.state not in CLOSED, f"A2: closed {identifier} changed profile"
                assert profiles.get(identifier) == [new.profile], f"L1: {identifier} profile"
            kinds = [e.kind for e in mine]
            if old.state == new.state:
                assert not kinds, f"L1: {kinds} for {identifier} without a change ({old.state})"
                continue
            assert old.state not in CLOSED, f"A2: closed {identifier} went to {new.state}"
            move = (old.state, new.state)
            assert move in ACCOUNT_MOVES, f"A2: {identifier} went {old.state} → {new.state}"
            # Each use case moves an account at most once: a login enforces the expiry
            # (active → expired) and then refuses, it never also blocks; a reset unblocks
            # (blocked → active) only; the sweep handles each account once.
            assert len(kinds) == 1, f"L1: {identifier} {move} recorded by {kinds}"
            assert kinds[0] in ACCOUNT_MOVES[move], f"L1: {move} recorded by {kinds}"

    def _check_links(self, before: _Snapshot, after: _Snapshot) -> None:
        """A8: a used or replaced link stays so; no link is ever forgotten."""
        for token_hash, old in before.links.items():
            new = after.links.get(token_hash)
            assert new is not None, "A8: a link disappeared"
            if old.used_at is not None:
                assert new.used_at == old.used_at, "A8: a used link became unused"
            if old.revoked_at is not None:
                assert new.revoked_at == old.revoked_at, "A8: a replaced link came back"
            if not old.usable(before.now):
                assert not new.usable(after.now), "A8: a dead link became usable again"

    def _check_outbox(
        self, before: _Snapshot, after: _Snapshot, events: Sequence[DomainEvent]
    ) -> None:
        """M3: nothing owed is lost; a state change owes its notifications in the same step."""
        for message_id, old in before.outbox.items():
            new = after.outbox.get(message_id)
            assert new is not None, "M3: an owed notification disappeared"
            if old.sent_at is not None:
                assert new.sent_at == old.sent_at, "M3: a sent notification became unsent"
        added = [m for i, m in after.outbox.items() if i not in before.outbox]

        def owed(kind: str, *, identifier: str | None = None, siret: str | None = None) -> int:
            return sum(
                1
                for m in added
                if m.kind == kind
                and (identifier is None or m.identifier == identifier)
                and (siret is None or m.siret == siret)
            )

        for event in events:
            if event.kind == "registration_submitted":  # C5, M2
                assert owed("password_creation", identifier=event.account) == 1, event
                assert owed("classic_enrolment", siret=event.siret) == 1, event
            elif event.kind == "account_created" and getattr(event, "state", None) == (
                PENDING_ACTIVATION
            ):  # C5, R5
                assert owed("password_creation", identifier=event.account) == 1, event
            elif event.kind == "access_opened":  # C8
                assert owed("access_open", identifier=event.account) == 1, event
            elif event.kind == "registration_withdrawn":  # C9
                assert owed("registration_withdrawn", identifier=event.account) == 1, event
            elif event.kind == "establishment_enrolled":  # N4, M2
                assert owed("net_entreprises_enrolment", siret=event.siret) == 1, event
            elif event.kind == "account_created" and _joined_as_user(event):  # N3
                for admin in self._administrators(event.siret, after):
                    if admin != event.account:  # every administrator is told
                        assert owed("new_net_entreprises_user", identifier=admin) == 1, event

    def _check_swept(self, after: _Snapshot) -> None:
        """T1, C6, C8: after a sweep nothing is left past its deadline."""
        for identifier, account in after.accounts.items():
            if account.state == PENDING_ACTIVATION:
                assert not self._creation_lapsed(identifier, after), (
                    f"C6/T1: {identifier} still pending after its creation link's 15 days"
                )
            elif account.state == ACTIVE:
                assert not self._lifetime_over(identifier, after), (
                    f"A7/T1: {identifier} still active after 18 months without a login"
                )
        for siret, (state, applicant) in after.enrolments.items():
            if state != PENDING or applicant is None:
                continue
            if after.accounts[applicant].state == ACTIVE:
                assert after.now < self.day_j[siret], f"C8/T1: {siret} still pending on day J"

    # === bookkeeping ===================================================================

    def _take(self) -> _Snapshot:
        store = self.read_store()
        return _Snapshot(
            now=self.journey.clock.now(),
            enrolments={
                e.siret.value: (e.state.value, e.applicant.value if e.applicant else None)
                for e in store.enrolments
            },
            accounts={
                a.identifier.value: _AccountRow(a.state.value, a.profile.value, a.siret.value)
                for a in store.accounts
            },
            links={
                link.token_hash: _LinkRow(
                    link.identifier.value,
                    link.purpose.value,
                    link.expires_at,
                    link.used_at,
                    link.revoked_at,
                )
                for link in store.links
            },
            events=store.events,
            outbox={m.id: _message_row(m) for m in store.outbox},
            unsent=frozenset(m.id for m in store.outbox if m.sent_at is None),
        )

    def _dispatch(self) -> None:
        """Delivers what is due, checking the report against the failures asked for (M3),
        and learns the tokens of what was delivered."""
        now = self.journey.clock.now()
        before = self.read_store().outbox
        due = [m for m in before if m.sent_at is None and m.next_attempt_at <= now]
        requests = [m for m in due if isinstance(m.notification, PasswordResetRequest)]
        due = [m for m in due if m not in requests]
        emails = sum(1 for m in due if isinstance(m.notification, EmailNotification))
        report = self.platform.dispatch_notifications(limit=10_000)
        store = self.read_store()
        # P2: each request was resolved by the dispatcher, into at most one reset e-mail
        # for the identifier asked, sent (or failed) in the same pass.
        known = {m.id for m in before}
        created = [m for m in store.outbox if m.id not in known]
        asked = {
            m.notification.identifier
            for m in requests
            if isinstance(m.notification, PasswordResetRequest)
        }
        for message in created:
            notification = message.notification
            assert isinstance(notification, EmailNotification), message
            assert notification.kind.value == "password_reset", message
            assert notification.identifier in asked, f"P2: a reset nobody asked for {message}"
        assert len(created) <= len(requests), created
        resolved = {m.id for m in store.outbox if m.sent_at is not None}
        assert {m.id for m in requests} <= resolved, "P2: a reset request was left unresolved"
        emails += len(created)
        mail_failures = min(self._mail_failures, emails)
        letter_failures = min(self._letter_failures, len(due) + len(created) - emails)
        self._mail_failures -= mail_failures
        self._letter_failures -= letter_failures
        failures = mail_failures + letter_failures
        expected = (len(due) + len(created) - failures, failures)
        assert (report.sent, report.failed) == expected, (report, due, created)
        unsent = [m for m in store.outbox if m.sent_at is None]
        assert report.pending == len(unsent), report
        # M3: nothing due is left: it was sent, or it failed and waits for its backoff.
        stale = [m.id for m in unsent if m.next_attempt_at <= now]
        assert not stale, f"M3: due notifications left after a dispatch: {stale}"
        self._learn_tokens(store)

    def _learn_tokens(self, store: StoreContents) -> None:
        outbox = {message.id: message for message in store.outbox}
        order = {message_id: seq for seq, message_id in enumerate(outbox)}
        mails = self.journey.world.mailer.sent
        for mail in mails[self._mails_read :]:
            message = outbox[mail.message_id]
            notification = message.notification
            assert isinstance(notification, EmailNotification)
            for password in self.passwords.values():
                assert password not in mail.text, "M4: an e-mail carries a password"
            owner = notification.identifier or ""
            if mail.link_url:
                purpose = CREATION if mail.kind.value == "password_creation" else RESET
                raw = mail.link_url.split("jeton=", 1)[1]
                self._learn(raw, purpose, owner, message, order)
            found = WITHDRAWAL_URL.search(mail.text)
            if found:
                self._learn(found.group(1), BY_APPLICANT, owner, message, order)
        self._mails_read = len(mails)
        letters = self.journey.world.letters.sent
        for letter in letters[self._letters_read :]:
            if letter.withdrawal_code:
                message = outbox[letter.letter_id]
                self._learn(letter.withdrawal_code, BY_REPRESENTATIVE, letter.siret, message, order)
        self._letters_read = len(letters)

    def _learn(
        self, raw: str, purpose: str, owner: str, message: OutboxMessage, order: dict[str, int]
    ) -> None:
        assert raw not in repr(message), "M4: the outbox keeps a raw token"
        self.seen_tokens.add(raw)
        self.tokens.append(
            _Token(raw, purpose, owner, message.siret, order[message.id], message.created_at)
        )

    def _token(self, purposes: tuple[str, ...], pick: int, *, latest: bool) -> _Token | None:
        """A seen token of these purposes; ``latest``: the last one issued to its owner."""
        tokens = [t for t in self.tokens if t.purpose in purposes]
        if not tokens:
            return None
        chosen = tokens[pick % len(tokens)]
        if latest:
            chosen = max(
                (t for t in tokens if (t.purpose, t.owner) == (chosen.purpose, chosen.owner)),
                key=lambda t: t.seq,
            )
        return chosen

    def _assert_fresh(self, token: _Token, validity: timedelta | None) -> None:
        """A8, C6, A5: a link that worked was unused, the last of its kind, in time."""
        assert token.value not in self.used_tokens, "A8: a link worked twice"
        newer = [
            t
            for t in self.tokens
            if (t.purpose, t.owner) == (token.purpose, token.owner) and t.seq > token.seq
        ]
        assert not newer, f"A8: a replaced {token.purpose} link still worked"
        if validity is not None:
            assert self.journey.clock.now() < token.issued_at + validity, (
                f"C6/A5: a {token.purpose} link worked after {validity}"
            )

    def _administer(
        self, action: str, who: str, subject: int, colleague: bool, act: Callable[[str, str], None]
    ) -> None:
        """R5, R6: an action by ``who`` on someone known (``colleague``: preferably of the
        same establishment); only an active administrator of that establishment succeeds."""
        whom = self._pick_actor(
            subject, colleague_of=who if colleague else None, fitting=FITTING.get(action, _open)
        )
        before = self._snapshot.accounts.get(whom)
        allowed = self._can_administer(who)
        same = allowed and before is not None and before.siret == self._snapshot.accounts[who].siret
        _, refused = _attempt(lambda: act(who, whom))
        if refused == ACCOUNT_STATE and self._expired_now(who):
            return  # A7, T1: the actor's own expiry was enforced as it acted
        if refused is not None:
            if not allowed:
                expected = {self._refusal_of(who), NOT_FOUND}
            elif before is None:
                expected = {NOT_FOUND}
            elif not same:
                expected = {PERMISSION_DENIED}
            else:
                expected = {"state.transition_not_allowed", "account.last_administrator"}
            assert refused in expected, f"R6: {action} by {who} on {whom}: {refused}"
            return
        assert allowed, f"R6: {who} (not an active administrator) did {action} on {whom}"
        assert same, f"R6: {who} did {action} on {whom} of another establishment"
        assert before is not None
        required = {"renew": {EXPIRED}, "unblock": {BLOCKED}}.get(action, OPEN)
        assert before.state in required, f"A2: {action} on an account {before.state}"

    def _complete(self, ticket: _Ticket) -> None:
        email = self._new_email()
        state = self._enrolment_now(ticket.siret)
        existing = self._net_entreprises_account(ticket.siret, ticket.last_name, ticket.first_name)
        stale = self.journey.clock.now() >= ticket.expires_at
        joined, refused = _attempt(
            lambda: self.platform.complete_net_entreprises(
                NetEntreprisesCompletion(ticket=ticket.value, form=net_entreprises_form(email))
            )
        )
        if joined is None:
            if stale:
                expected = "net_entreprises.ticket_invalid"
            elif ticket.value in self.spent_tickets:
                expected = "net_entreprises.ticket_used"
            elif state == PENDING:
                expected = "establishment.registration_in_progress"  # N5
            else:
                assert existing is not None, f"N3/N4: refused: {refused}"
                expected = "net_entreprises.account_exists"
            assert refused == expected, f"N-E completion: {refused}, expected {expected}"
            return
        assert not stale, "a stale Net-Entreprises ticket was accepted"
        assert ticket.value not in self.spent_tickets, "N3/N4: one ticket made two accounts"
        self.spent_tickets.add(ticket.value)
        assert state != PENDING, "N5: a Net-Entreprises account joined a pending registration"
        assert existing is None, f"N3: a second account for the same person ({existing})"
        profile = "user" if state == ENROLLED else ADMINISTRATOR
        assert joined.profile == profile, f"N3/N4: {joined.profile} in state {state}"
        self.people[joined.identifier] = _Person(
            joined.identifier, ticket.siret, ticket.first_name, ticket.last_name, email
        )
        self.net_entreprises.add(joined.identifier)

    def _net_entreprises_account(self, siret: str, last_name: str, first_name: str) -> str | None:
        """N6: the person's Net-Entreprises account there, unless deleted."""
        for identifier in self.net_entreprises:
            person = self.people[identifier]
            if (person.siret, person.last_name, person.first_name) == (
                siret,
                last_name,
                first_name,
            ) and self._snapshot.accounts[identifier].state != DELETED:
                return identifier
        return None

    def _next_deadline(self) -> datetime | None:
        """The nearest future moment when something falls due: read from the store only to
        choose a time to jump to, never to decide what is right."""
        store = self.read_store()
        now = self.journey.clock.now()
        moments = [
            moment
            for account in store.accounts
            for moment in (account.activation_deadline, account.expires_at)
            if moment is not None and moment > now
        ]
        moments += [e.access_from for e in store.enrolments if e.access_from]
        future = [moment for moment in moments if moment > now]
        return min(future, default=None)

    def _lifetime_over(self, identifier: str, snapshot: _Snapshot) -> bool:
        """A7: 18 months have passed since the account's last sign of life (login, access
        opening or its day J, renewal; creation or activation before any of those). The
        latest of them counts, so this never expects an expiry earlier than the spec's."""
        anchors = [
            e.at for e in snapshot.events if e.account == identifier and e.kind in LIFE_SIGNS
        ]
        siret = snapshot.accounts[identifier].siret
        if snapshot.enrolments.get(siret, (NOT_ENROLLED, None)) == (PENDING, identifier):
            anchors.append(self.day_j[siret])  # the applicant's access opens on day J
        months = self.platform.policy.account_lifetime_months
        return bool(anchors) and snapshot.now >= _months_later(max(anchors), months)

    def _enrolment_now(self, siret: str) -> str:
        """E3 as the next use case must see it: a pending registration whose applicant's
        15 days ran out without a password has lapsed, sweep or no sweep (C6, T1)."""
        state, applicant = self._snapshot.enrolments.get(siret, (NOT_ENROLLED, None))
        if (
            state == PENDING
            and applicant is not None
            and self._snapshot.accounts[applicant].state == PENDING_ACTIVATION
            and self._creation_lapsed(applicant, self._snapshot)
        ):
            return NOT_ENROLLED
        return state

    def _creation_lapsed(self, identifier: str, snapshot: _Snapshot) -> bool:
        """C6, C3: the first password-creation link e-mailed to the account (at the
        submission, for an applicant) is 15 days old: a resend never extends them."""
        mailed = [
            m.created_at
            for m in snapshot.outbox.values()
            if m.kind == "password_creation" and m.identifier == identifier
        ]
        validity = self.platform.policy.creation_link_validity
        return not mailed or snapshot.now >= min(mailed) + validity

    def _administrators(self, siret: str, snapshot: _Snapshot | None = None) -> list[str]:
        """E5: the administrator accounts that are neither deleted nor invalidated."""
        snapshot = snapshot or self._snapshot
        return [
            i
            for i, a in snapshot.accounts.items()
            if a.siret == siret and a.profile == ADMINISTRATOR and a.state in OPEN
        ]

    def _expired_now(self, who: str) -> bool:
        """Whether the store now holds ``who`` as expired (read after the action)."""
        try:
            identifier = Identifier.parse(who)
        except ValueError:
            return False
        return any(
            account.identifier == identifier and account.state.value == EXPIRED
            for account in self.read_store().accounts
        )

    def _refusal_of(self, who: str) -> str:
        """R6, A4, R8: what an actor who may not administer is told. An administrator
        whose own account is blocked or expired (now, or found so as they act) is told
        that state; anyone else, that they lack the rights."""
        row = self._snapshot.accounts.get(who)
        if row is not None and row.profile == ADMINISTRATOR:
            if row.state == BLOCKED:
                return ACCOUNT_BLOCKED
            if row.state == EXPIRED or self._expired_now(who):
                return ACCOUNT_STATE
        return PERMISSION_DENIED

    def _can_administer(self, who: str) -> bool:
        """R5, R6: an active administrator of an enrolled establishment."""
        row = self._snapshot.accounts.get(who)
        return (
            row is not None
            and row.profile == ADMINISTRATOR
            and row.state == ACTIVE
            and self._snapshot.enrolment(row.siret) == ENROLLED
        )

    def _pick_identifier(self, pick: int, *, has_password: bool) -> str:
        """Someone known (or not); ``has_password``: preferably an open account with one."""
        accounts = self._snapshot.accounts
        known = []
        if has_password:
            known = [i for i in self.passwords if i in accounts and accounts[i].state in OPEN]
        known = known or [*self.people, STRANGERS[0]]
        return known[pick % len(known)]

    def _pick_actor(
        self,
        pick: int,
        *,
        administrator: bool = False,
        colleague_of: str | None = None,
        fitting: Callable[[_AccountRow], bool] = _open,
    ) -> str:
        """Any identifier known to the store, or a stranger; ``administrator``: preferably
        an active one; ``colleague_of``: preferably an account of that one's establishment,
        a ``fitting`` one if there is one."""
        accounts = self._snapshot.accounts
        known: list[str] = []
        if administrator:
            known = [i for i in sorted(accounts) if self._can_administer(i)]
        elif colleague_of is not None and colleague_of in accounts:
            siret = accounts[colleague_of].siret
            known = [i for i in sorted(accounts) if accounts[i].siret == siret]
            known = [i for i in known if fitting(accounts[i])] or known
        known = known or [*sorted(accounts), *STRANGERS]
        return known[pick % len(known)]

    def _owes(self, kind: str) -> bool:
        """Whether a notification of this kind was ever owed (so a token may be learnt)."""
        return any(m.kind == kind for m in self._snapshot.outbox.values())

    def _new_email(self) -> str:
        self._emails += 1
        return f"personne{self._emails}@employeur.example"

    def _access_opening(self, submitted_at: datetime) -> datetime:
        """C5, restated: day J is the submission's calendar day + 8, from local midnight."""
        policy = self.platform.policy
        day = submitted_at.astimezone(policy.zone).date() + timedelta(
            days=policy.objection_period_days
        )
        return datetime(day.year, day.month, day.day, tzinfo=policy.zone)


def _attempt(use_case: Callable[[], T]) -> tuple[T | None, str | None]:
    """Runs a use case: its result, or the code of its refusal. A refusal is an
    :class:`OnboardingError`; any other exception fails the run."""
    try:
        return use_case(), None
    except OnboardingError as error:
        return None, error.code


def _joined_as_user(event: DomainEvent) -> bool:
    return (
        bool(getattr(event, "net_entreprises", False)) and getattr(event, "profile", "") == "user"
    )


def _message_row(message: OutboxMessage) -> _MessageRow:
    notification = message.notification
    return _MessageRow(
        kind=notification.kind.value,
        identifier=notification.identifier if isinstance(notification, EmailNotification) else None,
        siret=message.siret,
        created_at=message.created_at,
        next_attempt_at=message.next_attempt_at,
        sent_at=message.sent_at,
    )
