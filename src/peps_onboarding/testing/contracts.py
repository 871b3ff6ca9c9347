"""Contract test suites for the ports: check your own adapter against the tests ours pass.

Each suite is a base class whose name does not start with ``Test``, so pytest does not
collect it on its own. Subclass it in your test suite and provide the one fixture it
asks for::

    from collections.abc import Callable

    import pytest
    from peps_onboarding.ports import UnitOfWork
    from peps_onboarding.testing.contracts import UnitOfWorkContract


    class TestMyStore(UnitOfWorkContract):
        @pytest.fixture
        def unit_of_work_factory(self) -> Callable[[], UnitOfWork]:
            return MyDatabase.empty_for_tests().unit_of_work

The suites and their fixtures:

- :class:`UnitOfWorkContract`, fixture ``unit_of_work_factory``: a
  ``Callable[[], UnitOfWork]`` on a fresh, empty store (a new one for each test);
- :class:`ClockContract`, fixture ``clock``;
- :class:`PasswordHasherContract`, fixture ``hasher``;
- :class:`RandomSourceContract`, fixture ``random_source``;
- :class:`MailerContract`, fixture ``mailer``;
- :class:`LetterSenderContract`, fixture ``letter_sender``;
- :class:`CaptchaVerifierContract`, fixture ``captcha``;
- :class:`EmailRendererContract`, fixture ``renderer``;
- :class:`DirectoryContract`, fixture ``directory_holding``: a
  ``Callable[[Sequence[DirectoryEntry]], Directory]`` that returns a directory holding
  exactly those entries (it may be called several times in one test; each call replaces
  what the previous one held).

The unit-of-work suite interleaves two units of work in one thread (one reads, the
other commits, the first then writes), as optimistic concurrency allows: a store must
not hold locks on reads. A few tests also race threads, each with its own unit of work.

Every test cites the rules of the specification it pins, in its docstring and with a
``@pytest.mark.rule(...)`` marker. Under ``--strict-markers`` register that marker,
either in your configuration (``markers = ["rule(*ids): spec rules"]``) or by loading
this module as a plugin from your top-level ``conftest.py``::

    pytest_plugins = ["peps_onboarding.testing.contracts"]

Requires the ``[testing]`` extra (pytest).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Protocol
from zoneinfo import ZoneInfo

import pytest
from attrs import evolve, frozen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..domain.account import Account, AccountState, Holder, Profile
from ..domain.errors import ConcurrentUpdateError, ConflictError
from ..domain.establishment import (
    Contract,
    Enrolment,
    EnrolmentState,
    Establishment,
    LegalRepresentative,
)
from ..domain.events import AccountCreated, DomainEvent, LinkIssued, RegistrationSubmitted
from ..domain.links import Link, LinkPurpose, hash_token
from ..domain.notifications import (
    EmailKind,
    EmailMessage,
    EmailNotification,
    Letter,
    LetterKind,
    OutboxMessage,
    SealedLink,
)
from ..domain.policy import Policy
from ..domain.values import (
    ADDRESS_LINE_MAX_LENGTH,
    CITY_MAX_LENGTH,
    Civility,
    ContractNumber,
    EmailAddress,
    FixedPhone,
    Identifier,
    InvalidFieldError,
    LegalCategory,
    PersonName,
    PostalAddress,
    PostalCode,
    Siret,
    TextLine,
)
from ..ports import (
    CaptchaVerifier,
    Clock,
    ContractDirectory,
    EmailRenderer,
    EstablishmentRegistry,
    LetterSender,
    Mailer,
    PasswordHasher,
    RandomSource,
    UnitOfWork,
)

__all__ = [
    "CaptchaVerifierContract",
    "ClockContract",
    "Directory",
    "DirectoryContract",
    "DirectoryEntry",
    "EmailRendererContract",
    "LetterSenderContract",
    "MailerContract",
    "PasswordHasherContract",
    "RandomSourceContract",
    "UnitOfWorkContract",
    "pytest_configure",
]

UnitOfWorkFactory = Callable[[], UnitOfWork]


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``rule`` marker when this module is loaded as a pytest plugin."""
    config.addinivalue_line("markers", "rule(*ids): the spec rules (RULES.md) this test pins")


# --- builders of real domain objects -----------------------------------------------------

_START = datetime(2024, 3, 13, 9, 30, tzinfo=UTC)
_POLICY = Policy()
_THREADS = 8
_BARRIER_TIMEOUT = 30.0


def _luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _siret(n: int) -> Siret:
    """A valid SIRET (E1) of its own for each ``n``: establishments of one legal unit."""
    body = f"213300635{n:04d}"
    check = next(d for d in "0123456789" if _luhn_valid(body + d))
    return Siret.parse(body + check)


def _holder(first_name: str = "Jeanne", last_name: str = "Dupont") -> Holder:
    return Holder(
        civility=Civility.MRS,
        last_name=PersonName.parse(last_name),
        first_name=PersonName.parse(first_name),
        email=EmailAddress.parse(f"{first_name}.{last_name}@mairie-saint-aubin.fr".lower()),
        phone=FixedPhone.parse("05 56 11 41 23"),
        service_function=TextLine.parse("Ressources humaines"),
        address=PostalAddress(
            street=TextLine.parse("6 place des Clémens"),
            postal_code=PostalCode.parse("33160"),
            city=TextLine.parse("Saint-Aubin"),
        ),
    )


def _identifier(number: int, prefix: str = "JDU") -> Identifier:
    return Identifier.build(prefix, number)


def _account(
    siret: Siret, number: int, *, at: datetime = _START, net_entreprises: bool = False
) -> Account:
    """A new administrator account, « En attente d'activation » unless N-E (C5, N4)."""
    identifier = _identifier(number)
    return Account.create(
        identifier=identifier,
        siret=siret,
        profile=Profile.ADMINISTRATOR,
        holder=_holder(),
        at=at,
        policy=_POLICY,
        actor=identifier.value,
        net_entreprises=net_entreprises,
    ).state


def _pending(
    siret: Siret, *, at: datetime = _START, access_from: datetime | None = None
) -> Enrolment:
    """A classic registration submitted at ``at`` (C5), day J moved to ``access_from``."""
    enrolment = (
        Enrolment(siret=siret).submit_classic(applicant=_identifier(1), at=at, policy=_POLICY).state
    )
    return enrolment if access_from is None else evolve(enrolment, access_from=access_from)


def _link(
    n: int,
    identifier: Identifier,
    siret: Siret,
    purpose: LinkPurpose = LinkPurpose.PASSWORD_CREATION,
) -> Link:
    return Link(
        token_hash=hash_token(f"token-{n:04d}-{'x' * 40}"),
        purpose=purpose,
        identifier=identifier,
        siret=siret,
        created_at=_START,
        expires_at=_START + _POLICY.creation_link_validity,
        version=1,  # as stored by ``add``
    )


def _event(siret: Siret, minutes: int) -> DomainEvent:
    return LinkIssued(
        at=_START + timedelta(minutes=minutes),
        siret=siret.value,
        account=_identifier(1).value,
        actor="system",
        purpose=LinkPurpose.PASSWORD_CREATION.value,
        expires_at=_START + _POLICY.creation_link_validity,
    )


def _message(n: int, siret: Siret, *, at: datetime = _START) -> OutboxMessage:
    """An owed e-mail (M1) created at ``at``, due at once."""
    return OutboxMessage(
        id=f"{n:032x}",
        siret=siret.value,
        created_at=at,
        notification=EmailNotification(
            kind=EmailKind.ACCESS_OPEN,
            to="jeanne.dupont@mairie-saint-aubin.fr",
            recipient="Madame Jeanne Dupont",
            siret=siret.value,
            designation="Commune de Saint-Aubin",
            identifier=_identifier(1).value,
        ),
        next_attempt_at=at,
    )


def _add_and_commit_enrolment(factory: UnitOfWorkFactory, enrolment: Enrolment) -> None:
    with factory() as uow:
        uow.enrolments.add(enrolment)
        uow.commit()


def _add_and_commit_account(factory: UnitOfWorkFactory, account: Account) -> None:
    with factory() as uow:
        uow.accounts.add(account)
        uow.commit()


def _add_and_commit_messages(factory: UnitOfWorkFactory, *messages: OutboxMessage) -> None:
    with factory() as uow:
        for message in messages:
            uow.outbox.add(message)
        uow.commit()


def _save_message_and_commit(factory: UnitOfWorkFactory, message: OutboxMessage) -> None:
    with factory() as uow:
        uow.outbox.save(message)
        uow.commit()


def _update_enrolment_and_commit(uow: UnitOfWork, enrolment: Enrolment) -> None:
    uow.enrolments.update(enrolment)
    uow.commit()


def _update_account_and_commit(uow: UnitOfWork, account: Account) -> None:
    uow.accounts.update(account)
    uow.commit()


def _stored_enrolment(factory: UnitOfWorkFactory, siret: Siret) -> Enrolment:
    with factory() as uow:
        enrolment = uow.enrolments.get(siret)
    assert enrolment is not None
    return enrolment


def _stored_account(factory: UnitOfWorkFactory, identifier: Identifier) -> Account:
    with factory() as uow:
        account = uow.accounts.get(identifier)
    assert account is not None
    return account


class _Everything:
    """One record of every kind, written by one unit of work."""

    def __init__(self, n: int) -> None:
        self.siret = _siret(n)
        self.enrolment = _pending(self.siret)
        self.account = _account(self.siret, n)
        self.link = _link(n, self.account.identifier, self.siret)
        self.event = _event(self.siret, 0)
        self.message = _message(n, self.siret)

    def write(self, uow: UnitOfWork) -> None:
        uow.enrolments.add(self.enrolment)
        uow.accounts.add(self.account)
        uow.links.add(self.link)
        uow.events.append([self.event])
        uow.outbox.add(self.message)

    def assert_absent(self, uow: UnitOfWork) -> None:
        assert uow.enrolments.get(self.siret) is None
        assert uow.accounts.get(self.account.identifier) is None
        assert list(uow.accounts.of_establishment(self.siret)) == []
        assert uow.links.by_hash(self.link.token_hash) is None
        assert list(uow.links.of_account(self.account.identifier, self.link.purpose)) == []
        assert list(uow.events.history(self.siret)) == []
        assert list(uow.outbox.due(_START + timedelta(days=365), 100)) == []
        assert uow.outbox.pending_count() == 0


def _fail_inside(factory: UnitOfWorkFactory, everything: _Everything) -> None:
    with factory() as uow:
        everything.write(uow)
        raise RuntimeError("boom")


def _race(count: int, attempt: Callable[[int, Callable[[], None]], bool]) -> list[bool]:
    """Runs ``attempt(i, together)`` in ``count`` threads; their outcomes.

    ``together()`` holds each thread until all have reached it: called after a read, it
    makes every thread read the same version before any of them writes.
    """
    barrier = threading.Barrier(count)

    def together() -> None:
        barrier.wait(timeout=_BARRIER_TIMEOUT)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda i: attempt(i, together), range(count)))


# --- the unit of work and its stores ------------------------------------------------------


class UnitOfWorkContract:
    """The :class:`~peps_onboarding.ports.UnitOfWork` port and its five stores.

    Fixture ``unit_of_work_factory``: a ``Callable[[], UnitOfWork]`` on a fresh, empty store.

    ``writers_wait_for_each_other``: leave it False for a store that stages its writes
    and checks them at commit (ours, or SQLite with version checks): racing threads then
    all write before any commits, so only the commit-time check can stop the losers. Set
    it True when a write waits for the other open units of work (row or index locks, as
    PostgreSQL takes): the threads then commit right after writing.
    """

    writers_wait_for_each_other: ClassVar[bool] = False

    def _before_commit(self, together: Callable[[], None]) -> None:
        if not self.writers_wait_for_each_other:
            together()

    # --- basics and transactions -------------------------------------------------------

    @pytest.mark.rule("E3", "L1")
    def test_committed_records_are_read_back_equal(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rules E3, L1: every kind of record comes back as it was written, after commit."""
        everything = _Everything(1)
        with unit_of_work_factory() as uow:
            everything.write(uow)
            uow.commit()
        with unit_of_work_factory() as uow:
            enrolment = uow.enrolments.get(everything.siret)
            account = uow.accounts.get(everything.account.identifier)
            assert enrolment is not None and account is not None
            assert enrolment == evolve(everything.enrolment, version=enrolment.version)
            assert account == evolve(everything.account, version=account.version)
            assert uow.links.by_hash(everything.link.token_hash) == everything.link
            assert list(uow.events.history(everything.siret)) == [everything.event]
            assert list(uow.outbox.due(_START, 10)) == [everything.message]
            assert uow.outbox.pending_count() == 1

    @pytest.mark.rule("E3")
    def test_unknown_keys_read_as_none(self, unit_of_work_factory: UnitOfWorkFactory) -> None:
        """Rule E3: an absent enrolment means not enrolled; unknown keys read as None."""
        with unit_of_work_factory() as uow:
            assert uow.enrolments.get(_siret(1)) is None
            assert uow.accounts.get(_identifier(1)) is None
            assert uow.links.by_hash(hash_token("unknown")) is None
            assert list(uow.accounts.of_establishment(_siret(1))) == []
            assert list(uow.events.history(_siret(1))) == []
            assert uow.outbox.pending_count() == 0

    @pytest.mark.rule("E3")
    def test_a_unit_of_work_reads_its_own_writes_before_commit(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule E3: a use case sees what it wrote earlier in the same unit of work."""
        everything = _Everything(1)
        with unit_of_work_factory() as uow:
            everything.write(uow)
            assert uow.enrolments.get(everything.siret) is not None
            assert uow.accounts.get(everything.account.identifier) is not None
            assert [a.identifier for a in uow.accounts.of_establishment(everything.siret)] == [
                everything.account.identifier
            ]
            assert uow.links.by_hash(everything.link.token_hash) == everything.link

    @pytest.mark.rule("M3")
    def test_nothing_is_visible_to_another_unit_of_work_before_commit(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: writes stay private to their unit of work until it commits."""
        everything = _Everything(1)
        with unit_of_work_factory() as writer:
            everything.write(writer)
            with unit_of_work_factory() as reader:
                everything.assert_absent(reader)
            writer.commit()
        with unit_of_work_factory() as reader:
            assert reader.enrolments.get(everything.siret) is not None

    @pytest.mark.rule("M3")
    def test_leaving_the_block_without_commit_rolls_everything_back(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: no commit, no change — stores, links, events and outbox alike."""
        everything = _Everything(1)
        with unit_of_work_factory() as uow:
            everything.write(uow)
        with unit_of_work_factory() as uow:
            everything.assert_absent(uow)

    @pytest.mark.rule("M3")
    def test_an_exception_in_the_block_rolls_everything_back_and_propagates(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: an exception leaves no half-applied change and is not swallowed."""
        everything = _Everything(1)
        with pytest.raises(RuntimeError, match="boom"):
            _fail_inside(unit_of_work_factory, everything)
        with unit_of_work_factory() as uow:
            everything.assert_absent(uow)

    # --- E6 and A1: adding what exists ---------------------------------------------------

    @pytest.mark.rule("E6")
    def test_adding_an_enrolment_for_an_enrolled_siret_is_a_conflict(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule E6: a second enrolment of the same SIRET raises ConflictError (add or commit)."""
        siret = _siret(1)
        _add_and_commit_enrolment(unit_of_work_factory, _pending(siret))
        with pytest.raises(ConflictError):
            _add_and_commit_enrolment(unit_of_work_factory, _pending(siret, at=_START))
        assert _stored_enrolment(unit_of_work_factory, siret).state is EnrolmentState.PENDING

    @pytest.mark.rule("A1")
    def test_adding_an_existing_identifier_is_a_conflict(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule A1: an identifier is never given twice, even to another establishment."""
        _add_and_commit_account(unit_of_work_factory, _account(_siret(1), 1))
        with pytest.raises(ConflictError):
            _add_and_commit_account(unit_of_work_factory, _account(_siret(2), 1))
        stored = _stored_account(unit_of_work_factory, _identifier(1))
        assert stored.siret == _siret(1)

    @pytest.mark.rule("E6")
    def test_racing_units_of_work_adding_the_same_enrolment_exactly_one_commits(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule E6: threads all see no enrolment, then add it; one commit wins, none half-lands."""
        siret = _siret(1)

        def attempt(i: int, together: Callable[[], None]) -> bool:
            with unit_of_work_factory() as uow:
                assert uow.enrolments.get(siret) is None
                together()
                try:
                    uow.enrolments.add(_pending(siret, at=_START + timedelta(seconds=i)))
                    uow.events.append([_event(siret, i)])
                except ConflictError:
                    self._before_commit(together)
                    return False
                self._before_commit(together)
                try:
                    uow.commit()
                except ConflictError:
                    return False
            return True

        outcomes = _race(_THREADS, attempt)
        assert outcomes.count(True) == 1
        winner = outcomes.index(True)
        stored = _stored_enrolment(unit_of_work_factory, siret)
        assert stored.submitted_at == _START + timedelta(seconds=winner)
        with unit_of_work_factory() as uow:
            assert list(uow.events.history(siret)) == [_event(siret, winner)]

    # --- optimistic updates --------------------------------------------------------------

    @pytest.mark.rule("E3")
    def test_an_update_stores_the_version_read_plus_one(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule E3: the commit stores ``version + 1`` of the record read."""
        siret = _siret(1)
        _add_and_commit_enrolment(unit_of_work_factory, _pending(siret))
        read = _stored_enrolment(unit_of_work_factory, siret)
        opened = read.open_access(at=read.access_from or _START).state
        with unit_of_work_factory() as uow:
            uow.enrolments.update(opened)
            uow.commit()
        stored = _stored_enrolment(unit_of_work_factory, siret)
        assert stored.version == read.version + 1
        assert stored == evolve(opened, version=read.version + 1)

    @pytest.mark.rule("A2")
    def test_an_account_update_stores_the_version_read_plus_one(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule A2: account updates follow the same optimistic versions."""
        account = _account(_siret(1), 1)
        _add_and_commit_account(unit_of_work_factory, account)
        read = _stored_account(unit_of_work_factory, account.identifier)
        active = read.activate(password_hash="$argon2id$fake", at=_START).state
        with unit_of_work_factory() as uow:
            uow.accounts.update(active)
            uow.commit()
        stored = _stored_account(unit_of_work_factory, account.identifier)
        assert stored == evolve(active, version=read.version + 1)
        assert stored.state is AccountState.ACTIVE

    @pytest.mark.rule("E3", "A2")
    def test_several_updates_in_one_unit_of_work_compose(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rules E3, A2: within one unit of work the version does not move; one increment."""
        siret = _siret(1)
        account = _account(siret, 1)
        _add_and_commit_enrolment(unit_of_work_factory, _pending(siret))
        _add_and_commit_account(unit_of_work_factory, account)
        before = _stored_account(unit_of_work_factory, account.identifier)
        enrolment_before = _stored_enrolment(unit_of_work_factory, siret)
        with unit_of_work_factory() as uow:
            first = uow.accounts.get(account.identifier)
            assert first is not None
            uow.accounts.update(first.activate(password_hash="$argon2id$a", at=_START).state)
            second = uow.accounts.get(account.identifier)
            assert second is not None and second.version == first.version
            uow.accounts.update(second.rehash(password_hash="$argon2id$b"))
            enrolment = uow.enrolments.get(siret)
            assert enrolment is not None
            uow.enrolments.update(enrolment.withdraw(at=_START, actor="system").state)
            again = uow.enrolments.get(siret)
            assert again is not None and again.state is EnrolmentState.NOT_ENROLLED
            uow.enrolments.update(again)
            uow.commit()
        stored = _stored_account(unit_of_work_factory, account.identifier)
        assert stored.version == before.version + 1
        assert (stored.state, stored.password_hash) == (AccountState.ACTIVE, "$argon2id$b")
        enrolment_after = _stored_enrolment(unit_of_work_factory, siret)
        assert enrolment_after.state is EnrolmentState.NOT_ENROLLED
        assert enrolment_after.version == enrolment_before.version + 1

    @pytest.mark.rule("E6")
    def test_a_stale_update_is_refused(self, unit_of_work_factory: UnitOfWorkFactory) -> None:
        """Rule E6: an update from a version someone else has since replaced is refused."""
        siret = _siret(1)
        _add_and_commit_enrolment(unit_of_work_factory, _pending(siret))
        stale = _stored_enrolment(unit_of_work_factory, siret)
        with unit_of_work_factory() as uow:
            uow.enrolments.update(stale.withdraw(at=_START, actor="system").state)
            uow.commit()
        opened = stale.open_access(at=stale.access_from or _START).state
        with unit_of_work_factory() as uow, pytest.raises(ConcurrentUpdateError):
            _update_enrolment_and_commit(uow, opened)
        stored = _stored_enrolment(unit_of_work_factory, siret)
        assert stored.state is EnrolmentState.NOT_ENROLLED
        assert stored.version == stale.version + 1

    @pytest.mark.rule("A2")
    def test_a_stale_account_update_is_refused(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule A2: two administrators acting on one account: the second stale write fails."""
        account = _account(_siret(1), 1, net_entreprises=True)
        _add_and_commit_account(unit_of_work_factory, account)
        stale = _stored_account(unit_of_work_factory, account.identifier)
        with unit_of_work_factory() as uow:
            uow.accounts.update(stale.invalidate(at=_START, actor="JDU000002").state)
            uow.commit()
        with unit_of_work_factory() as uow, pytest.raises(ConcurrentUpdateError):
            _update_account_and_commit(
                uow, stale.change_profile(profile=Profile.USER, at=_START, actor="JDU000002").state
            )
        stored = _stored_account(unit_of_work_factory, account.identifier)
        assert (stored.state, stored.profile) == (AccountState.INVALIDATED, Profile.ADMINISTRATOR)

    @pytest.mark.rule("E6", "M3")
    def test_an_update_that_lost_the_race_is_refused_and_applies_nothing(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rules E6, M3: the loser of an interleaved race fails and none of its writes land."""
        siret = _siret(1)
        _add_and_commit_enrolment(unit_of_work_factory, _pending(siret))
        with unit_of_work_factory() as loser:
            read = loser.enrolments.get(siret)
            assert read is not None
            with unit_of_work_factory() as winner:
                current = winner.enrolments.get(siret)
                assert current is not None
                winner.enrolments.update(current.withdraw(at=_START, actor="system").state)
                winner.commit()
            everything = _Everything(2)
            everything.write(loser)
            with pytest.raises(ConcurrentUpdateError):
                _update_enrolment_and_commit(
                    loser, read.open_access(at=read.access_from or _START).state
                )
        with unit_of_work_factory() as uow:
            everything.assert_absent(uow)
        assert _stored_enrolment(unit_of_work_factory, siret).state is EnrolmentState.NOT_ENROLLED

    @pytest.mark.rule("E6", "M3")
    def test_racing_updates_of_one_version_let_exactly_one_land(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rules E6, M3: threads read one version, then write: one lands, losers leave nothing."""
        siret = _siret(1)
        _add_and_commit_enrolment(unit_of_work_factory, _pending(siret))
        initial = _stored_enrolment(unit_of_work_factory, siret)

        def attempt(i: int, together: Callable[[], None]) -> bool:
            with unit_of_work_factory() as uow:
                read = uow.enrolments.get(siret)
                assert read is not None
                together()
                try:
                    uow.enrolments.update(evolve(read, applicant=_identifier(100 + i)))
                    uow.events.append([_event(siret, i)])
                    uow.outbox.add(_message(100 + i, siret))
                except ConcurrentUpdateError:
                    self._before_commit(together)
                    return False
                self._before_commit(together)
                try:
                    uow.commit()
                except ConcurrentUpdateError:
                    return False
            return True

        outcomes = _race(_THREADS, attempt)
        won = [i for i, success in enumerate(outcomes) if success]
        stored = _stored_enrolment(unit_of_work_factory, siret)
        assert len(won) == 1  # every thread read the same version: one write can land
        assert stored.version == initial.version + 1
        assert stored.applicant == _identifier(100 + won[0])
        with unit_of_work_factory() as uow:
            assert list(uow.events.history(siret)) == [_event(siret, won[0])]
            assert uow.outbox.pending_count() == 1

    # --- accounts ------------------------------------------------------------------------

    @pytest.mark.rule("R5", "E5")
    def test_of_establishment_lists_every_account_oldest_first_closed_ones_included(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rules R5, E5: the members, oldest first, deleted and invalidated ones included."""
        siret, other = _siret(1), _siret(2)
        accounts = [_account(siret, n, at=_START + timedelta(hours=n)) for n in (1, 2, 3, 4)]
        _add_and_commit_account(unit_of_work_factory, accounts[0])
        _add_and_commit_account(unit_of_work_factory, _account(other, 9))
        with unit_of_work_factory() as uow:
            uow.accounts.add(accounts[1])
            uow.accounts.add(accounts[2])
            uow.commit()
        _add_and_commit_account(unit_of_work_factory, accounts[3])
        with unit_of_work_factory() as uow:
            read = uow.accounts.get(accounts[1].identifier)
            assert read is not None
            uow.accounts.update(read.delete(at=_START, actor="system", reason="withdrawal").state)
            read = uow.accounts.get(accounts[2].identifier)
            assert read is not None
            uow.accounts.update(
                read.invalidate(at=_START, actor=accounts[0].identifier.value).state
            )
            uow.commit()
        with unit_of_work_factory() as uow:
            members = list(uow.accounts.of_establishment(siret))
            assert [a.identifier for a in members] == [a.identifier for a in accounts]
            assert [a.state for a in members] == [
                AccountState.PENDING_ACTIVATION,
                AccountState.DELETED,
                AccountState.INVALIDATED,
                AccountState.PENDING_ACTIVATION,
            ]
            assert [a.identifier for a in uow.accounts.of_establishment(other)] == [_identifier(9)]

    @pytest.mark.rule("A1")
    def test_next_number_strictly_increases_and_is_never_reused_after_a_rollback(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule A1: numbers per prefix only go up, even when the unit of work rolls back."""
        with unit_of_work_factory() as uow:
            first = uow.accounts.next_number("JDU")
            other = uow.accounts.next_number("PMA")
        with unit_of_work_factory() as uow:
            second = uow.accounts.next_number("JDU")
            uow.commit()
        with unit_of_work_factory() as uow:
            third = uow.accounts.next_number("JDU")
            fourth = uow.accounts.next_number("JDU")
        assert 1 <= first < second < third < fourth <= 999_999
        assert 1 <= other <= 999_999

    @pytest.mark.rule("A1")
    def test_next_number_is_unique_across_racing_threads(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule A1: concurrent units of work never draw the same number."""
        numbers: list[int] = []
        lock = threading.Lock()

        def attempt(_: int, together: Callable[[], None]) -> bool:
            together()
            with unit_of_work_factory() as uow:
                drawn = [uow.accounts.next_number("JDU") for _ in range(5)]
                uow.commit()
            with lock:
                numbers.extend(drawn)
            return True

        _race(_THREADS, attempt)
        assert len(set(numbers)) == len(numbers) == 5 * _THREADS

    # --- T1: what the sweep reads --------------------------------------------------------

    @pytest.mark.rule("T1", "C6", "A7")
    def test_accounts_due_are_exactly_those_whose_deadline_has_come(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule T1: accounts due at ``at`` are those with ``deadline <= at``, bound included."""
        siret = _siret(1)
        pending = [_account(siret, n, at=_START + timedelta(hours=2 * n)) for n in (1, 2, 3)]
        active = evolve(
            _account(siret, 4, net_entreprises=True), expires_at=_START + timedelta(days=16)
        )
        closed = _account(siret, 5).delete(at=_START, actor="system", reason="withdrawal").state
        with unit_of_work_factory() as uow:
            for account in (*pending, active, closed):
                uow.accounts.add(account)
            uow.commit()
        deadlines = [a.deadline for a in pending]
        assert all(d is not None for d in deadlines)
        first, second, _ = (d for d in deadlines if d is not None)
        with unit_of_work_factory() as uow:
            assert list(uow.accounts.due(first - timedelta(microseconds=1))) == []
            assert {a.identifier for a in uow.accounts.due(first)} == {_identifier(1)}
            assert {a.identifier for a in uow.accounts.due(second)} == {
                _identifier(1),
                _identifier(2),
            }
            everything = {a.identifier for a in uow.accounts.due(_START + timedelta(days=400))}
            assert everything == {_identifier(n) for n in (1, 2, 3, 4)}

    @pytest.mark.rule("T1", "C8")
    def test_enrolments_due_are_exactly_those_whose_day_j_has_come(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule T1: pending enrolments with ``access_from <= at``; enrolled ones never."""
        day_j = _START + timedelta(days=8)
        pending = [
            _pending(_siret(n), access_from=day_j + timedelta(hours=3 * n)) for n in (1, 2, 3)
        ]
        enrolled = _pending(_siret(4), access_from=day_j)
        enrolled = enrolled.open_access(at=day_j).state
        with unit_of_work_factory() as uow:
            for enrolment in (*pending, enrolled):
                uow.enrolments.add(enrolment)
            uow.commit()
        with unit_of_work_factory() as uow:
            assert list(uow.enrolments.due(day_j)) == []
            assert {e.siret for e in uow.enrolments.due(day_j + timedelta(hours=6))} == {
                _siret(1),
                _siret(2),
            }
            assert {e.siret for e in uow.enrolments.due(day_j + timedelta(days=30))} == {
                _siret(1),
                _siret(2),
                _siret(3),
            }

    @pytest.mark.rule("T1")
    def test_due_reflects_updates_of_the_deadline(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule T1: a record whose deadline moved away is no longer due; moved closer, now due."""
        siret = _siret(1)
        day_j = _START + timedelta(days=8)
        pending = _account(siret, 1)
        far = _account(siret, 2, net_entreprises=True)
        _add_and_commit_enrolment(unit_of_work_factory, _pending(siret, access_from=day_j))
        with unit_of_work_factory() as uow:
            uow.accounts.add(pending)
            uow.accounts.add(far)
            uow.commit()
        at = _START + timedelta(days=20)
        with unit_of_work_factory() as uow:
            assert {a.identifier for a in uow.accounts.due(at)} == {pending.identifier}
            assert [e.siret for e in uow.enrolments.due(at)] == [siret]
            read = uow.accounts.get(pending.identifier)
            assert read is not None
            uow.accounts.update(read.activate(password_hash="$argon2id$x", at=_START).state)
            read = uow.accounts.get(far.identifier)
            assert read is not None
            uow.accounts.update(evolve(read, expires_at=_START + timedelta(days=10)))
            enrolment = uow.enrolments.get(siret)
            assert enrolment is not None
            uow.enrolments.update(enrolment.open_access(at=day_j).state)
            uow.commit()
        with unit_of_work_factory() as uow:
            assert {a.identifier for a in uow.accounts.due(at)} == {far.identifier}
            assert list(uow.enrolments.due(at)) == []

    @pytest.mark.rule("T1")
    def test_due_compares_instants_whatever_the_time_zone_of_the_deadline(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule T1: 00:30 in Paris is 23:30 UTC the day before: due at 23:45 UTC."""
        paris = ZoneInfo("Europe/Paris")
        deadline = datetime(2024, 3, 29, 0, 30, tzinfo=paris)
        account = evolve(_account(_siret(1), 1), activation_deadline=deadline)
        enrolment = _pending(_siret(2), access_from=deadline)
        _add_and_commit_account(unit_of_work_factory, account)
        _add_and_commit_enrolment(unit_of_work_factory, enrolment)
        at = datetime(2024, 3, 28, 23, 45, tzinfo=UTC)
        with unit_of_work_factory() as uow:
            assert [a.identifier for a in uow.accounts.due(at)] == [account.identifier]
            assert [e.siret for e in uow.enrolments.due(at)] == [enrolment.siret]
            assert list(uow.accounts.due(datetime(2024, 3, 28, 23, 15, tzinfo=UTC))) == []

    # --- links ---------------------------------------------------------------------------

    @pytest.mark.rule("A8")
    def test_links_are_found_by_hash_and_listed_per_account_and_purpose(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule A8: lookup by the token's hash; an account's links of one purpose."""
        siret = _siret(1)
        mine, theirs = _identifier(1), _identifier(2)
        creation = [_link(1, mine, siret), _link(2, mine, siret)]
        reset = _link(3, mine, siret, LinkPurpose.PASSWORD_RESET)
        other = _link(4, theirs, siret)
        with unit_of_work_factory() as uow:
            for link in (*creation, reset):
                uow.links.add(link)
            uow.commit()
        with unit_of_work_factory() as uow:
            uow.links.add(other)
            uow.commit()
        creation = [evolve(link, version=1) for link in creation]
        reset, other = evolve(reset, version=1), evolve(other, version=1)
        with unit_of_work_factory() as uow:
            assert uow.links.by_hash(reset.token_hash) == reset
            assert uow.links.by_hash(hash_token("never issued")) is None
            found = uow.links.of_account(mine, LinkPurpose.PASSWORD_CREATION)
            assert sorted(link.token_hash for link in found) == sorted(
                link.token_hash for link in creation
            )
            assert list(uow.links.of_account(mine, LinkPurpose.PASSWORD_RESET)) == [reset]
            assert list(uow.links.of_account(theirs, LinkPurpose.PASSWORD_CREATION)) == [other]
            assert list(uow.links.of_account(theirs, LinkPurpose.PASSWORD_RESET)) == []

    @pytest.mark.rule("A8")
    def test_updating_a_link_replaces_it_and_stores_the_version_read_plus_one(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule A8: a used or revoked link replaces the stored one (same hash, one record),
        and its version moves at each commit."""
        siret, identifier = _siret(1), _identifier(1)
        link = _link(1, identifier, siret)
        with unit_of_work_factory() as uow:
            uow.links.add(link)
            uow.commit()
        with unit_of_work_factory() as uow:
            stored = uow.links.by_hash(link.token_hash)
            assert stored is not None and stored.version == 1
            uow.links.update(stored.revoke(_START).state)
            uow.commit()
        with unit_of_work_factory() as uow:
            stored = uow.links.by_hash(link.token_hash)
            assert stored == evolve(link, revoked_at=_START, version=2)
            listed = list(uow.links.of_account(identifier, LinkPurpose.PASSWORD_CREATION))
            assert listed == [stored]

    @pytest.mark.rule("A8")
    def test_adding_a_stored_link_again_is_a_conflict(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rules A8, N3: a hash is one record; a second add of it never commits."""
        link = _link(1, _identifier(1), _siret(1))
        with unit_of_work_factory() as uow:
            uow.links.add(link)
            uow.commit()
        with unit_of_work_factory() as uow:
            refused = False
            try:  # a store may refuse at ``add`` or only at commit
                uow.links.add(link)
                uow.commit()
            except ConflictError:
                refused = True
        assert refused

    @pytest.mark.rule("A8")
    def test_racing_uses_of_one_link_let_exactly_one_commit(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule A8: threads read one link at one version and use it: one use commits."""
        link = _link(1, _identifier(1), _siret(1))
        with unit_of_work_factory() as uow:
            uow.links.add(link)
            uow.commit()

        def attempt(i: int, together: Callable[[], None]) -> bool:
            with unit_of_work_factory() as uow:
                read = uow.links.by_hash(link.token_hash)
                assert read is not None
                together()
                uow.links.update(read.use(_START + timedelta(seconds=i)).state)
                self._before_commit(together)
                try:
                    uow.commit()
                except ConflictError:
                    return False
            return True

        won = [i for i, success in enumerate(_race(_THREADS, attempt)) if success]
        assert len(won) == 1
        with unit_of_work_factory() as uow:
            stored = uow.links.by_hash(link.token_hash)
        assert stored is not None and stored.version == 2
        assert stored.used_at == _START + timedelta(seconds=won[0])

    @pytest.mark.rule("A4")
    def test_password_check_slots_never_exceed_the_limit_across_racing_threads(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule A4: of many racing reservations, exactly ``limit`` get a slot; a commit
        that releases them frees them all; a rollback frees none."""
        identifier = _identifier(1)

        def attempt(_: int, together: Callable[[], None]) -> bool:
            together()
            with unit_of_work_factory() as uow:
                return uow.accounts.reserve_password_check(identifier, 3)

        assert sum(_race(_THREADS, attempt)) == 3
        with unit_of_work_factory() as uow:
            uow.accounts.release_password_checks(identifier)  # rolled back: nothing freed
        with unit_of_work_factory() as uow:
            assert not uow.accounts.reserve_password_check(identifier, 3)
            uow.accounts.release_password_checks(identifier)
            uow.commit()
        with unit_of_work_factory() as uow:
            taken = [uow.accounts.reserve_password_check(identifier, 3) for _ in range(4)]
        assert taken == [True, True, True, False]
        with unit_of_work_factory() as uow:
            assert uow.accounts.reserve_password_check(_identifier(2), 3)

    # --- events --------------------------------------------------------------------------

    @pytest.mark.rule("L1")
    def test_history_reads_back_one_establishments_events_in_order(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule L1: every appended event of that establishment, in append order, only its own."""
        siret, other = _siret(1), _siret(2)
        submitted = RegistrationSubmitted(
            at=_START,
            siret=siret.value,
            account=_identifier(1).value,
            actor=_identifier(1).value,
            access_from=_START + timedelta(days=8),
        )
        created = AccountCreated(
            at=_START,
            siret=siret.value,
            account=_identifier(1).value,
            actor=_identifier(1).value,
            profile=Profile.ADMINISTRATOR.value,
            state=AccountState.PENDING_ACTIVATION.value,
            net_entreprises=False,
        )
        later = [_event(siret, m) for m in (5, 1, 9)]  # append order, not time order
        with unit_of_work_factory() as uow:
            uow.events.append([submitted, created])
            uow.events.append([_event(other, 0)])
            uow.commit()
        for event in later:
            with unit_of_work_factory() as uow:
                uow.events.append(iter([event, _event(other, 2)]))
                uow.commit()
        with unit_of_work_factory() as uow:
            assert list(uow.events.history(siret)) == [submitted, created, *later]
            assert list(uow.events.history(other)) == [_event(other, 0)] + [_event(other, 2)] * 3

    # --- outbox --------------------------------------------------------------------------

    @pytest.mark.rule("M3")
    def test_outbox_due_gives_unsent_messages_whose_time_has_come_oldest_first_limited(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: only ``next_attempt_at <= at``, oldest first, at most ``limit``."""
        siret = _siret(1)
        messages = [_message(n, siret, at=_START + timedelta(minutes=n)) for n in (1, 2, 3, 4)]
        _add_and_commit_messages(
            unit_of_work_factory, messages[2], messages[0], messages[3], messages[1]
        )
        at = messages[2].next_attempt_at
        with unit_of_work_factory() as uow:
            assert list(uow.outbox.due(_START, 10)) == []
            assert list(uow.outbox.due(at, 10)) == messages[:3]
            assert list(uow.outbox.due(at, 2)) == messages[:2]
            assert list(uow.outbox.due(at + timedelta(days=1), 10)) == messages
            assert uow.outbox.pending_count() == 4

    @pytest.mark.rule("M3")
    def test_a_message_saved_as_sent_is_no_longer_due_nor_pending(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: delivery is recorded once; a failure is retried at its next attempt."""
        siret = _siret(1)
        sent, failed, waiting = (_message(n, siret) for n in (1, 2, 3))
        _add_and_commit_messages(unit_of_work_factory, sent, failed, waiting)
        retry_at = _START + timedelta(minutes=1)
        with unit_of_work_factory() as uow:
            uow.outbox.save(evolve(sent, attempts=1, sent_at=_START))
            uow.outbox.save(
                evolve(failed, attempts=1, next_attempt_at=retry_at, last_error="smtp: down")
            )
            uow.commit()
        with unit_of_work_factory() as uow:
            assert list(uow.outbox.due(_START, 10)) == [waiting]
            assert {m.id for m in uow.outbox.due(retry_at, 10)} == {failed.id, waiting.id}
            assert uow.outbox.pending_count() == 2
            retried = [m for m in uow.outbox.due(retry_at, 10) if m.id == failed.id]
            assert retried == [
                evolve(failed, attempts=1, next_attempt_at=retry_at, last_error="smtp: down")
            ]
            for message in (failed, waiting):
                uow.outbox.save(evolve(message, attempts=2, sent_at=retry_at))
            uow.commit()
        with unit_of_work_factory() as uow:
            assert list(uow.outbox.due(retry_at + timedelta(days=1), 10)) == []
            assert uow.outbox.pending_count() == 0

    @pytest.mark.rule("M3")
    def test_a_claimed_message_is_given_to_nobody_else_until_saved_or_the_lease_ends(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: two dispatchers never deliver the same message."""
        siret = _siret(1)
        first, second = _message(1, siret), _message(2, siret)
        with unit_of_work_factory() as uow:
            uow.outbox.add(first)
            uow.outbox.add(second)
            uow.commit()
        lease = timedelta(minutes=5)
        with unit_of_work_factory() as uow:
            assert list(uow.outbox.claim(_START, 1, lease)) == [
                evolve(first, claimed_until=_START + lease)
            ]
            uow.commit()
        with unit_of_work_factory() as uow:
            assert list(uow.outbox.claim(_START, 10, lease)) == [
                evolve(second, claimed_until=_START + lease)
            ]
            assert list(uow.outbox.due(_START, 10)) == []
            uow.commit()
        with unit_of_work_factory() as uow:
            assert list(uow.outbox.claim(_START + lease - timedelta(seconds=1), 10, lease)) == []
            uow.outbox.save(evolve(second, attempts=1, next_attempt_at=_START))
            uow.commit()
        with unit_of_work_factory() as uow:
            assert list(uow.outbox.due(_START, 10)) == [evolve(second, attempts=1)]
            assert list(uow.outbox.due(_START + lease, 10)) == [first, evolve(second, attempts=1)]
            assert uow.outbox.pending_count() == 2

    @pytest.mark.rule("M3")
    def test_an_uncommitted_claim_takes_nothing(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: a claim rolled back leaves the message to the next dispatcher."""
        message = _message(1, _siret(1))
        _add_and_commit_messages(unit_of_work_factory, message)
        claimed = evolve(message, claimed_until=_START + timedelta(minutes=5))
        with unit_of_work_factory() as uow:
            assert list(uow.outbox.claim(_START, 10, timedelta(minutes=5))) == [claimed]
        with unit_of_work_factory() as uow:
            assert list(uow.outbox.claim(_START, 10, timedelta(minutes=5))) == [claimed]

    @pytest.mark.rule("M3")
    def test_a_dead_letter_is_neither_due_nor_pending_and_is_listed_until_retried(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: a message given up on leaves the due and pending ones, is counted and
        listed as dead (oldest first); retried, it is due again, its attempts reset."""
        siret = _siret(1)
        first, second, alive = (_message(n, siret) for n in (1, 2, 3))
        _add_and_commit_messages(unit_of_work_factory, first, second, alive)
        lease, later = timedelta(minutes=5), _START + timedelta(hours=1)
        with unit_of_work_factory() as uow:
            claimed = {m.id: m for m in uow.outbox.claim(_START, 10, lease)}
            uow.commit()
        with unit_of_work_factory() as uow:
            uow.outbox.save(claimed[second.id].dead_lettered(at=later, error="refused: 550"))
            uow.outbox.save(
                claimed[first.id].dead_lettered(at=later + timedelta(minutes=1), error="too many")
            )
            uow.outbox.save(claimed[alive.id].failed(at=_START, error="down", retry_at=later))
            uow.commit()
        with unit_of_work_factory() as uow:
            assert [m.id for m in uow.outbox.due(later + timedelta(days=30), 10)] == [alive.id]
            assert list(uow.outbox.claim(later + timedelta(days=30), 10, lease)) == [
                evolve(
                    alive,
                    attempts=1,
                    next_attempt_at=later,
                    last_error="down",
                    claimed_until=later + timedelta(days=30) + lease,
                )
            ]
            assert (uow.outbox.pending_count(), uow.outbox.dead_count()) == (1, 2)
            dead = list(uow.outbox.dead_letters())
            assert dead == [
                evolve(second, attempts=1, last_error="refused: 550", dead_at=later),
                evolve(
                    first,
                    attempts=1,
                    last_error="too many",
                    dead_at=later + timedelta(minutes=1),
                ),
            ]
            assert list(uow.outbox.dead_letters(1)) == dead[:1]
            assert uow.outbox.get(second.id) == dead[0]
            assert uow.outbox.get("0" * 32) is None
        with unit_of_work_factory() as uow:
            uow.outbox.save(dead[0].retried(at=later))
            uow.commit()
        with unit_of_work_factory() as uow:
            assert {m.id for m in uow.outbox.due(later, 10)} == {second.id, alive.id}
            assert uow.outbox.get(second.id) == evolve(
                second, attempts=0, next_attempt_at=later, last_error="refused: 550"
            )
            assert (uow.outbox.pending_count(), uow.outbox.dead_count()) == (2, 1)
            assert [m.id for m in uow.outbox.dead_letters()] == [first.id]

    @pytest.mark.rule("M3")
    def test_a_failure_saved_under_a_lapsed_claim_that_another_took_is_refused(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: once a lease ran out and another dispatcher claimed the message, the
        first one's failure is not recorded (``ConflictError``): the second one's outcome
        is; and a failure saved late never makes a delivered message due again."""
        message = _message(1, _siret(1))
        _add_and_commit_messages(unit_of_work_factory, message)
        lease = timedelta(minutes=5)
        over = _START + lease  # the first lease ends: the message is due again
        with unit_of_work_factory() as uow:
            [slow] = uow.outbox.claim(_START, 10, lease)
            uow.commit()
        with unit_of_work_factory() as uow:
            [fast] = uow.outbox.claim(over, 10, lease)
            uow.commit()
        assert (slow.claimed_until, fast.claimed_until) == (over, over + lease)
        with pytest.raises(ConflictError):
            _save_message_and_commit(
                unit_of_work_factory, slow.failed(at=over, error="slow", retry_at=over)
            )
        with unit_of_work_factory() as uow:
            uow.outbox.save(fast.delivered(at=over))
            uow.commit()
        for late in (
            slow.dead_lettered(at=over, error="slow"),
            fast.failed(at=over, error="again", retry_at=over),
        ):
            with pytest.raises(ConflictError):
                _save_message_and_commit(unit_of_work_factory, late)
        with unit_of_work_factory() as uow:
            assert uow.outbox.get(message.id) == evolve(message, attempts=1, sent_at=over)
            assert (uow.outbox.pending_count(), uow.outbox.dead_count()) == (0, 0)

    @pytest.mark.rule("M3")
    def test_a_delivery_saved_under_a_lapsed_claim_counts_and_the_late_failure_does_not(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: a delivery happened whoever's claim it was made under: it is recorded,
        and the failure the other dispatcher saves after it is refused."""
        message = _message(1, _siret(1))
        _add_and_commit_messages(unit_of_work_factory, message)
        lease = timedelta(minutes=5)
        over = _START + lease
        with unit_of_work_factory() as uow:
            [slow] = uow.outbox.claim(_START, 10, lease)
            uow.commit()
        with unit_of_work_factory() as uow:
            [fast] = uow.outbox.claim(over, 10, lease)
            uow.commit()
        with unit_of_work_factory() as uow:
            uow.outbox.save(slow.delivered(at=over))
            uow.commit()
        with pytest.raises(ConflictError):
            _save_message_and_commit(
                unit_of_work_factory, fast.failed(at=over, error="down", retry_at=over)
            )
        with unit_of_work_factory() as uow:
            assert uow.outbox.get(message.id) == evolve(message, attempts=1, sent_at=over)
            assert list(uow.outbox.due(over + timedelta(days=1), 10)) == []

    @pytest.mark.rule("M3")
    def test_a_message_read_unclaimed_and_changed_since_is_not_overwritten(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        """Rule M3: two operators retry one dead letter at once: the retry committed second,
        read before the first one committed, conflicts instead of writing over it."""
        dead = evolve(_message(1, _siret(1)), attempts=3, last_error="down", dead_at=_START)
        with unit_of_work_factory() as uow:
            uow.outbox.add(dead)
            uow.commit()
        later = _START + timedelta(hours=1)
        with unit_of_work_factory() as first:
            seen = first.outbox.get(dead.id)
            assert seen == dead
            with unit_of_work_factory() as second:
                [also_seen] = second.outbox.dead_letters()
                second.outbox.save(also_seen.retried(at=_START))
                second.commit()
            first.outbox.save(seen.retried(at=later))
            with pytest.raises(ConflictError):
                first.commit()
        with unit_of_work_factory() as uow:
            assert uow.outbox.get(dead.id) == evolve(dead, attempts=0, dead_at=None)
            assert (uow.outbox.pending_count(), uow.outbox.dead_count()) == (1, 0)


# --- the outside world --------------------------------------------------------------------


class ClockContract:
    """The :class:`~peps_onboarding.ports.Clock` port. Fixture ``clock``."""

    @pytest.mark.rule("T1")
    def test_now_is_aware_and_in_utc(self, clock: Clock) -> None:
        """Rule T1: ``now()`` is timezone-aware with a zero UTC offset."""
        now = clock.now()
        assert isinstance(now, datetime)
        assert now.tzinfo is not None
        assert now.utcoffset() == timedelta(0)

    @pytest.mark.rule("T1")
    def test_now_never_goes_backwards(self, clock: Clock) -> None:
        """Rule T1: successive readings never decrease."""
        readings = [clock.now() for _ in range(200)]
        assert readings == sorted(readings)


class PasswordHasherContract:
    """The :class:`~peps_onboarding.ports.PasswordHasher` port. Fixture ``hasher``."""

    @pytest.mark.rule("A3")
    def test_verify_accepts_the_right_password_and_refuses_a_wrong_one(
        self, hasher: PasswordHasher
    ) -> None:
        """Rule A3: the right password verifies; a wrong one returns False, never raises."""
        password_hash = hasher.hash("Motdepasse-1")
        assert hasher.verify(password_hash, "Motdepasse-1") is True
        assert hasher.verify(password_hash, "Motdepasse-2") is False

    @pytest.mark.rule("A3")
    def test_verify_returns_false_for_a_garbage_hash(self, hasher: PasswordHasher) -> None:
        """Rule A3: a hash that is not one returns False; it never raises."""
        truncated = hasher.hash("Motdepasse-1")[:-10]
        garbage = ["", "not a hash", "$argon2id$v=19$m=8,t=1,p=1$bad$bad", "$2b$12$" + "x" * 53]
        for password_hash in (*garbage, truncated):
            assert hasher.verify(password_hash, "Motdepasse-1") is False

    @pytest.mark.rule("A3")
    def test_hashes_are_salted(self, hasher: PasswordHasher) -> None:
        """Rule A3: the same password hashed twice gives two different hashes."""
        first, second = hasher.hash("Motdepasse-1"), hasher.hash("Motdepasse-1")
        assert first != second

    @pytest.mark.rule("A3", "M4")
    def test_the_hash_does_not_contain_the_password(self, hasher: PasswordHasher) -> None:
        """Rules A3, M4: no clear text in what is stored."""
        password = "Motdepasse-Clair-42!"
        password_hash = hasher.hash(password)
        assert password not in password_hash
        assert password.casefold() not in password_hash.casefold()

    @pytest.mark.rule("A3")
    def test_non_ascii_passwords_verify(self, hasher: PasswordHasher) -> None:
        """Rule A3: special characters include accents and symbols outside ASCII."""
        password_hash = hasher.hash("Été-2024-œ€")
        assert hasher.verify(password_hash, "Été-2024-œ€") is True
        assert hasher.verify(password_hash, "Ete-2024-oe€") is False

    @pytest.mark.rule("A3")
    def test_a_fresh_hash_does_not_need_a_rehash(self, hasher: PasswordHasher) -> None:
        """Rule A3: ``needs_rehash`` is a bool, False for a hash just made with its parameters."""
        assert hasher.needs_rehash(hasher.hash("Motdepasse-1")) is False


class RandomSourceContract:
    """The :class:`~peps_onboarding.ports.RandomSource` port. Fixture ``random_source``."""

    @pytest.mark.rule("A8")
    def test_token_bytes_returns_exactly_n_bytes(self, random_source: RandomSource) -> None:
        """Rule A8: ``token_bytes(n)`` is ``n`` bytes (16 bytes = the 128 bits of a link)."""
        for n in (1, 16, 32, 64):
            drawn = random_source.token_bytes(n)
            assert isinstance(drawn, bytes)
            assert len(drawn) == n

    @pytest.mark.rule("A8")
    def test_token_bytes_are_not_constant(self, random_source: RandomSource) -> None:
        """Rule A8: successive draws differ, and are not all zeros."""
        draws = {random_source.token_bytes(32) for _ in range(20)}
        assert len(draws) == 20
        assert bytes(32) not in draws


def _email(n: int = 1) -> EmailMessage:
    return EmailMessage(
        message_id=f"{n:032x}",
        to="jeanne.dupont@mairie-saint-aubin.fr",
        subject="PEP's : vous pouvez maintenant accéder à la plateforme",
        text=(
            "Bonjour Madame Jeanne Dupont,\n\nVous pouvez maintenant accéder à la plateforme.\n\n"
            "Cet email vous a été envoyé par un automate. Merci de ne pas répondre.\n"
        ),
        html=None,
        kind=EmailKind.ACCESS_OPEN,
    )


def _letter(n: int = 1) -> Letter:
    return Letter(
        letter_id=f"{n:032x}",
        kind=LetterKind.NET_ENTREPRISES_ENROLMENT,
        siret=_siret(1).value,
        designation="Commune de Saint-Aubin",
        recipient_name="Monsieur Paul Martin",
        recipient_title="Maire",
        recipient_address=("Hôtel de ville", "6 place des Clémens", "33160 SAINT-AUBIN"),
        applicant_name="Madame Jeanne Dupont",
        applicant_function="Ressources humaines",
        applicant_email="jeanne.dupont@mairie-saint-aubin.fr",
        registered_at=_START,
        withdrawal_deadline=None,
        withdrawal_code=None,
        withdrawal_url=None,
        text="Madame Jeanne Dupont a inscrit l'établissement à la plateforme PEP's.",
    )


class MailerContract:
    """The :class:`~peps_onboarding.ports.Mailer` port. Fixture ``mailer``."""

    @pytest.mark.rule("M1")
    def test_sending_a_valid_message_does_not_raise(self, mailer: Mailer) -> None:
        """Rule M1: a rendered French e-mail is accepted."""
        mailer.send(_email())

    @pytest.mark.rule("M3")
    def test_sending_the_same_message_twice_does_not_raise(self, mailer: Mailer) -> None:
        """Rule M3: a retried delivery (same ``message_id``) is accepted again."""
        mailer.send(_email())
        mailer.send(_email())


class LetterSenderContract:
    """The :class:`~peps_onboarding.ports.LetterSender` port. Fixture ``letter_sender``."""

    @pytest.mark.rule("M2")
    def test_sending_a_valid_letter_does_not_raise(self, letter_sender: LetterSender) -> None:
        """Rule M2: a letter to the legal representative is accepted."""
        letter_sender.send(_letter())

    @pytest.mark.rule("M3")
    def test_sending_the_same_letter_twice_does_not_raise(
        self, letter_sender: LetterSender
    ) -> None:
        """Rule M3: a retried delivery (same ``letter_id``) is accepted again."""
        letter_sender.send(_letter())
        letter_sender.send(_letter())


class CaptchaVerifierContract:
    """The :class:`~peps_onboarding.ports.CaptchaVerifier` port. Fixture ``captcha``."""

    HOSTILE: ClassVar[tuple[str, ...]] = (
        "",
        " ",
        "not the answer",
        "\x00",
        "\x1b[2J\r\n",
        "<script>",
        "\ud800",
        "x" * 256,
        "x" * 100_000,
    )

    @pytest.mark.rule("C1")
    def test_wrong_or_garbage_responses_are_refused_without_raising(
        self, captcha: CaptchaVerifier
    ) -> None:
        """Rule C1: a wrong, empty or hostile response, to a challenge it issued or to
        none, returns False."""
        for response in self.HOSTILE:
            assert captcha.verify(captcha.challenge().id, response) is False
            assert captcha.verify("", response) is False
        for challenge_id in self.HOSTILE[1:]:  # "" is the in-memory one's test answer
            assert captcha.verify(challenge_id, "trombone") is False

    @pytest.mark.rule("C1")
    def test_each_challenge_is_new_and_dated(self, captcha: CaptchaVerifier) -> None:
        """Rule C1: renewing is asking again: a new id each time; the expiry is aware, in
        UTC; images have distinct keys and labels, text has none."""
        first, second = captcha.challenge(), captcha.challenge()
        assert first.id and first.id != second.id
        for challenge in (first, second):
            assert challenge.expires_at.utcoffset() == timedelta(0)
            assert challenge.prompt and challenge.sound_prompt
            assert challenge.kind in ("images", "text")
            assert bool(challenge.choices) == (challenge.kind == "images")
            keys = [choice.key for choice in challenge.choices]
            labels = [choice.label for choice in challenge.choices]
            assert len(set(keys)) == len(keys) and len(set(labels)) == len(labels)

    @pytest.mark.rule("C1", "W4")
    def test_media_of_an_unknown_or_used_challenge_is_none(self, captcha: CaptchaVerifier) -> None:
        """Rules C1, W4: no image or sound for an unknown challenge or part, nor once the
        challenge is answered."""
        for challenge_id in self.HOSTILE:
            assert captcha.media(challenge_id, "son") is None
        challenge = captcha.challenge()
        assert captcha.media(challenge.id, "no such part") is None
        captcha.verify(challenge.id, "wrong")
        assert captcha.media(challenge.id, "son") is None
        for choice in challenge.choices:
            assert captcha.media(challenge.id, choice.key) is None


_AUTOMATON = "Cet email vous a été envoyé par un automate. Merci de ne pas répondre."
_LINK_URL = "https://pep.example/mot-de-passe?jeton=tok-9b1f3e27a4c8"
_SLIPPED_PASSWORD = "Tr0ub4dour&3!"
_EVERY_FACT = (
    ("withdrawal_url", "https://pep.example/desinscription?jeton=w1"),
    ("registered_on", "13/03/2024"),
    ("login_url", "https://pep.example/connexion"),
    ("new_user", "Madame Anne Martin"),
    ("new_user_identifier", "AMA000002"),
    ("withdrawn_by", "legal_representative"),
    ("password", _SLIPPED_PASSWORD),  # a mistake upstream that no e-mail may show
)


def _owed_email(
    kind: EmailKind, *, designation: str = "Commune de Saint-Aubin"
) -> EmailNotification:
    sealed = SealedLink(purpose=LinkPurpose.PASSWORD_CREATION, nonce="00ff", expires_at=_START)
    return EmailNotification(
        kind=kind,
        to="jeanne.dupont@mairie-saint-aubin.fr",
        recipient="Madame Jeanne Dupont",
        siret=_siret(1).value,
        designation=designation,
        identifier="JDU000001",
        facts=_EVERY_FACT,
        link=sealed if kind.carries_link else None,
    )


def _parts(message: EmailMessage) -> tuple[str, ...]:
    return (message.subject, message.text) + ((message.html,) if message.html else ())


class EmailRendererContract:
    """The :class:`~peps_onboarding.ports.EmailRenderer` port. Fixture ``renderer``."""

    @pytest.mark.rule("M1")
    @pytest.mark.parametrize("kind", list(EmailKind))
    def test_every_kind_greets_its_recipient_and_says_it_comes_from_an_automaton(
        self, renderer: EmailRenderer, kind: EmailKind
    ) -> None:
        """Rule M1: a one-line subject, a French greeting, the automaton notice in every
        body (text, and HTML when there is one)."""
        message = renderer.render(_owed_email(kind), message_id="m1", link_url=_LINK_URL)
        assert message.subject.strip() and not {"\r", "\n"} & set(message.subject)
        assert message.text.startswith("Bonjour Madame Jeanne Dupont,")
        for body in _parts(message)[1:]:
            assert _AUTOMATON in body

    @pytest.mark.rule("M1", "M3")
    @pytest.mark.parametrize("kind", list(EmailKind))
    def test_the_message_carries_what_the_mailer_needs(
        self, renderer: EmailRenderer, kind: EmailKind
    ) -> None:
        """Rules M1, M3: the outbox id (the idempotency key), the address, the kind, the link."""
        message = renderer.render(_owed_email(kind), message_id="0f" * 16, link_url=_LINK_URL)
        assert message.message_id == "0f" * 16
        assert message.to == "jeanne.dupont@mairie-saint-aubin.fr"
        assert message.kind is kind
        assert message.link_url == _LINK_URL

    @pytest.mark.rule("C5", "A5")
    @pytest.mark.parametrize("kind", [k for k in EmailKind if k.carries_link])
    def test_a_link_email_gives_its_link_and_cannot_be_rendered_without_it(
        self, renderer: EmailRenderer, kind: EmailKind
    ) -> None:
        """Rules C5, A5: the creation and reset e-mails show their link in the text; without
        one they are a wiring error (``ValueError``), never an e-mail that leads nowhere."""
        message = renderer.render(_owed_email(kind), message_id="m1", link_url=_LINK_URL)
        assert _LINK_URL in message.text
        with pytest.raises(ValueError, match="link"):
            renderer.render(_owed_email(kind), message_id="m1", link_url=None)

    @pytest.mark.rule("M4")
    @pytest.mark.parametrize("kind", list(EmailKind))
    def test_no_email_shows_a_password(self, renderer: EmailRenderer, kind: EmailKind) -> None:
        """Rule M4: even a password slipped into the facts reaches no subject and no body."""
        message = renderer.render(_owed_email(kind), message_id="m1", link_url=_LINK_URL)
        for part in _parts(message):
            assert _SLIPPED_PASSWORD not in part
            assert _SLIPPED_PASSWORD.replace("&", "&amp;") not in part

    @pytest.mark.rule("M1")
    @pytest.mark.parametrize("kind", list(EmailKind))
    def test_markup_in_what_users_typed_is_never_live_html(
        self, renderer: EmailRenderer, kind: EmailKind
    ) -> None:
        """Rule M1: a designation holding markup stays text; an HTML body escapes it."""
        hostile = "<script>alert('x')</script> & Cie"
        note = _owed_email(kind, designation=hostile)
        message = renderer.render(note, message_id="m1", link_url=_LINK_URL)
        assert "\r" not in message.subject and "\n" not in message.subject
        if message.html is not None:
            assert "<script>" not in message.html


# --- the directory ------------------------------------------------------------------------


class Directory(EstablishmentRegistry, ContractDirectory, Protocol):
    """Both directory ports, as one adapter serves them."""


@frozen(kw_only=True)
class DirectoryEntry:
    """One establishment as a directory holds it: its contracts, its legal representative."""

    establishment: Establishment
    contracts: tuple[Contract, ...] = ()
    legal_representative: LegalRepresentative | None = None


def _line(max_size: int) -> st.SearchStrategy[str]:
    """Printable text as the directory holds it: accents, apostrophes, ligatures…
    What TextLine refuses (markup and shell characters) never reaches a directory."""

    def accepted(text: str) -> bool:
        try:
            TextLine.parse(text, max_length=max_size)
        except InvalidFieldError:
            return False
        return bool(text)

    alphabet = st.characters(categories=("L", "N", "Zs", "Pd", "Po"))
    return st.text(alphabet, min_size=1, max_size=max_size).map(str.strip).filter(accepted)


_POSTAL_CODES = ("33160", "33500", "69003", "97139", "20000", "75001")
_FUNDS = ("FMIS", "CNRACL", "IRCANTEC", "RAFP")


@st.composite
def _addresses(draw: st.DrawFn) -> PostalAddress:
    # Rule C4: addresses as typed, up to the form's caps (the letter fits them to 38).
    def optional() -> TextLine | None:
        return draw(st.none() | _line(ADDRESS_LINE_MAX_LENGTH).map(TextLine.parse))

    return PostalAddress(
        street=TextLine.parse(draw(_line(ADDRESS_LINE_MAX_LENGTH))),
        postal_code=PostalCode.parse(draw(st.sampled_from(_POSTAL_CODES))),
        city=TextLine.parse(draw(_line(CITY_MAX_LENGTH)), max_length=CITY_MAX_LENGTH),
        address_complement=optional(),
        identification_complement=optional(),
        locality=optional(),
    )


@st.composite
def _entries(draw: st.DrawFn) -> list[DirectoryEntry]:
    """One to three establishments; contract numbers are never shared between them (E2)."""
    sirets = draw(st.lists(st.integers(0, 9_999), min_size=1, max_size=3, unique=True))
    numbers = iter(
        draw(
            st.lists(
                st.from_regex(r"[A-Z0-9][A-Z0-9/-]{0,29}", fullmatch=True),
                min_size=6,
                max_size=6,
                unique=True,
            )
        )
    )
    entries = []
    for n in sirets:
        siret = _siret(n)
        held = draw(st.integers(0, 2))
        entries.append(
            DirectoryEntry(
                establishment=Establishment(
                    siret=siret,
                    designation=draw(_line(200)),
                    legal_category=LegalCategory(draw(st.from_regex(r"[0-9]{4}", fullmatch=True))),
                    closed=draw(st.booleans()),
                    legal_unit_ceased=draw(st.booleans()),
                    address=draw(st.none() | _addresses()),
                ),
                contracts=tuple(
                    Contract(
                        number=ContractNumber.parse(next(numbers)),
                        fund=draw(st.sampled_from(_FUNDS)),
                        siret=siret,
                    )
                    for _ in range(held)
                ),
                legal_representative=draw(
                    st.none()
                    | st.builds(
                        LegalRepresentative,
                        civility=st.none() | st.sampled_from(Civility),
                        last_name=_line(64),
                        first_name=_line(64),
                        title=st.just("") | _line(100),
                        address=_addresses(),
                    )
                ),
            )
        )
    return entries


_COMMUNE = DirectoryEntry(
    establishment=Establishment(
        siret=_siret(1), designation="Commune de Saint-Aubin", legal_category=LegalCategory("7210")
    ),
    contracts=(Contract(number=ContractNumber.parse("FM330063"), fund="FMIS", siret=_siret(1)),),
)
_EHPAD = DirectoryEntry(
    establishment=Establishment(
        siret=_siret(2), designation="EHPAD Les Glycines", legal_category=LegalCategory("7364")
    ),
)

DirectoryHolding = Callable[[Sequence[DirectoryEntry]], Directory]


class DirectoryContract:
    """The directory ports, :class:`~peps_onboarding.ports.EstablishmentRegistry` and
    :class:`~peps_onboarding.ports.ContractDirectory`. Fixture ``directory_holding``."""

    @pytest.mark.rule("E2", "E4", "M2", "N2")
    # Each adapter's subclass runs this one test function: that is the point of a shared
    # suite, so the executors differ by design; the fixture is a factory that starts
    # from an empty directory on each call, so it is safe to share across examples.
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(entries=_entries())
    def test_whatever_it_holds_reads_back_equal(
        self, directory_holding: DirectoryHolding, entries: list[DirectoryEntry]
    ) -> None:
        """Rules E2, E4, M2, N2: every establishment, contract and legal representative
        reads back equal, with any text the directory may hold; ``has_contract`` says
        whether the SIRET holds one."""
        directory = directory_holding(entries)
        for entry in entries:
            siret = entry.establishment.siret
            assert directory.establishment(siret) == entry.establishment
            for contract in entry.contracts:
                assert directory.contract(siret, contract.number) == contract
            assert directory.has_contract(siret) == bool(entry.contracts)
            assert directory.legal_representative(siret) == entry.legal_representative

    @pytest.mark.rule("E1", "M2", "N2")
    def test_an_unknown_siret_is_none_everywhere(self, directory_holding: DirectoryHolding) -> None:
        """Rules E1, M2, N2: ``None`` (not an error) for a SIRET the directory does not know."""
        directory = directory_holding([_COMMUNE])
        unknown = _siret(3)
        assert directory.establishment(unknown) is None
        assert directory.contract(unknown, ContractNumber.parse("FM330063")) is None
        assert directory.has_contract(unknown) is False
        assert directory.legal_representative(unknown) is None

    @pytest.mark.rule("E2")
    def test_a_contract_is_found_only_with_the_siret_that_holds_it(
        self, directory_holding: DirectoryHolding
    ) -> None:
        """Rule E2: the pair must match; another SIRET or another number finds nothing."""
        directory = directory_holding([_COMMUNE, _EHPAD])
        number = ContractNumber.parse("FM330063")
        assert directory.contract(_siret(1), number) == _COMMUNE.contracts[0]
        assert directory.contract(_siret(2), number) is None
        assert directory.contract(_siret(1), ContractNumber.parse("FM330064")) is None
        assert directory.contract(_siret(1), ContractNumber.parse("fm 330063")) is not None

    @pytest.mark.rule("E4", "M2")
    def test_an_establishment_may_have_no_contract_and_no_representative(
        self, directory_holding: DirectoryHolding
    ) -> None:
        """Rules E4, M2: known to the directory without a contract (the legal category then
        decides) and without anyone to write to."""
        directory = directory_holding([_EHPAD])
        assert directory.establishment(_siret(2)) == _EHPAD.establishment
        assert directory.has_contract(_siret(2)) is False
        assert directory.legal_representative(_siret(2)) is None
