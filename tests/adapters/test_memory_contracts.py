"""Our adapters pass the port contracts we ship to hosts; races and outages end to end."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from peps_onboarding.adapters.argon2 import Argon2PasswordHasher
from peps_onboarding.adapters.clock import FakeClock, SystemClock
from peps_onboarding.adapters.memory import (
    InMemoryCaptchaVerifier,
    InMemoryDatabase,
    InMemoryDirectory,
    InMemoryLetterSender,
    InMemoryMailer,
)
from peps_onboarding.adapters.randomness import SeededRandomSource, SystemRandomSource
from peps_onboarding.application.rendering import PlainTextEmailRenderer
from peps_onboarding.application.results import RegistrationSubmitted
from peps_onboarding.domain.errors import (
    ConflictError,
    EstablishmentAlreadyEnrolledError,
    RegistrationInProgressError,
)
from peps_onboarding.domain.establishment import Enrolment
from peps_onboarding.domain.events import RegistrationSubmitted as RegistrationSubmittedEvent
from peps_onboarding.domain.notifications import EmailNotification, LetterNotification
from peps_onboarding.domain.values import Siret
from peps_onboarding.ports import UnitOfWork
from peps_onboarding.testing import (
    COMMUNE,
    HOSPITAL,
    HOSPITAL_CONTRACT,
    START,
    Journey,
    holder_form,
)
from peps_onboarding.testing.contracts import (
    CaptchaVerifierContract,
    ClockContract,
    Directory,
    DirectoryContract,
    DirectoryEntry,
    EmailRendererContract,
    LetterSenderContract,
    MailerContract,
    PasswordHasherContract,
    RandomSourceContract,
    UnitOfWorkContract,
)

# --- every contract against our adapters ------------------------------------------------


class TestInMemoryUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def unit_of_work_factory(self) -> Callable[[], UnitOfWork]:
        return InMemoryDatabase().unit_of_work


def _memory_directory(entries: Sequence[DirectoryEntry]) -> Directory:
    directory = InMemoryDirectory()
    for entry in entries:
        directory.add(
            entry.establishment,
            contracts=entry.contracts,
            legal_representative=entry.legal_representative,
        )
    return directory


class TestInMemoryDirectory(DirectoryContract):
    @pytest.fixture
    def directory_holding(self) -> Callable[[Sequence[DirectoryEntry]], Directory]:
        return _memory_directory


class TestPlainTextEmailRenderer(EmailRendererContract):
    @pytest.fixture
    def renderer(self) -> PlainTextEmailRenderer:
        return PlainTextEmailRenderer()


class TestFakeClock(ClockContract):
    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock(START)


class TestSystemClock(ClockContract):
    @pytest.fixture
    def clock(self) -> SystemClock:
        return SystemClock()


class TestFastArgon2PasswordHasher(PasswordHasherContract):
    @pytest.fixture
    def hasher(self) -> Argon2PasswordHasher:
        return Argon2PasswordHasher.fast_for_tests()


class TestSystemRandomSource(RandomSourceContract):
    @pytest.fixture
    def random_source(self) -> SystemRandomSource:
        return SystemRandomSource()


class TestSeededRandomSource(RandomSourceContract):
    @pytest.fixture
    def random_source(self) -> SeededRandomSource:
        return SeededRandomSource(7)


class TestInMemoryMailer(MailerContract):
    @pytest.fixture
    def mailer(self) -> InMemoryMailer:
        return InMemoryMailer()


class TestInMemoryLetterSender(LetterSenderContract):
    @pytest.fixture
    def letter_sender(self) -> InMemoryLetterSender:
        return InMemoryLetterSender()


class TestInMemoryCaptchaVerifier(CaptchaVerifierContract):
    @pytest.fixture
    def captcha(self) -> InMemoryCaptchaVerifier:
        return InMemoryCaptchaVerifier()


@pytest.mark.rule("A3")
def test_the_default_argon2_hasher_passes_the_core_of_the_contract() -> None:
    """Rule A3: production parameters too (a few ~120 ms calls, not the whole suite)."""
    contract, hasher = PasswordHasherContract(), Argon2PasswordHasher()
    contract.test_verify_accepts_the_right_password_and_refuses_a_wrong_one(hasher)
    contract.test_a_fresh_hash_does_not_need_a_rehash(hasher)


# --- what only the in-memory store can show deterministically ---------------------------


@pytest.mark.rule("E6")
def test_interleaved_adds_of_one_siret_conflict_at_the_second_commit() -> None:
    """Rule E6: both units of work add before either commits; the second commit conflicts."""
    database = InMemoryDatabase()
    enrolment_siret = Siret.parse(COMMUNE)
    first, second = database.unit_of_work(), database.unit_of_work()
    with first, second:
        first.enrolments.add(Enrolment(siret=enrolment_siret))
        second.enrolments.add(Enrolment(siret=enrolment_siret))
        first.commit()
        with pytest.raises(ConflictError):
            second.commit()
    assert database.commits == 1


# --- E6 and M3 through the real use cases -----------------------------------------------


@pytest.mark.rule("E6", "C3")
def test_sixteen_racing_registrations_of_one_establishment_enrol_it_once() -> None:
    """Rule E6: 16 threads register at once: one submission, 15 « en cours d'inscription »."""
    journey = Journey.start()
    barrier = threading.Barrier(16)
    proof = journey.proof()  # one step 1 passed, sixteen submissions racing on it

    def register(_: int) -> RegistrationSubmitted | Exception:
        barrier.wait(timeout=30)
        try:
            return journey.register(proof=proof)
        except (RegistrationInProgressError, EstablishmentAlreadyEnrolledError) as error:
            return error

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(register, range(16)))

    submitted = [o for o in outcomes if isinstance(o, RegistrationSubmitted)]
    refused = [o for o in outcomes if not isinstance(o, RegistrationSubmitted)]
    assert len(submitted) == 1
    assert len(refused) == 15
    history = journey.platform.history(COMMUNE)
    assert sum(isinstance(e, RegistrationSubmittedEvent) for e in history) == 1
    database = journey.world.database
    assert [a.identifier.value for a in database.accounts.values()] == [submitted[0].identifier]
    assert len(database.outbox) == 2  # one creation e-mail, one letter


@pytest.mark.rule("M3")
def test_a_failing_mailer_delays_but_never_loses_nor_duplicates_an_email() -> None:
    """Rule M3: after 3 failures and backoff, every owed e-mail is delivered exactly once."""
    journey = Journey.start()
    journey.world.mailer.fail_next(3)
    journey.register()
    journey.register(HOSPITAL, HOSPITAL_CONTRACT, holder=holder_form("Luc", "Bernard"))
    outbox = journey.world.database.outbox
    owed_emails = {m.id for m in outbox.values() if isinstance(m.notification, EmailNotification)}
    owed_letters = {m.id for m in outbox.values() if isinstance(m.notification, LetterNotification)}
    assert len(owed_emails) == len(owed_letters) == 2

    failures, rounds = 0, 0
    while True:
        report = journey.platform.dispatch_notifications()
        failures += report.failed
        rounds += 1
        if report.pending == 0 or rounds > 20:
            break
        journey.later(seconds=journey.platform.policy.notification_retry_max.total_seconds())

    assert (report.pending, failures) == (0, 3)
    assert sorted(m.message_id for m in journey.world.mailer.sent) == sorted(owed_emails)
    assert sorted(letter.letter_id for letter in journey.world.letters.sent) == sorted(owed_letters)
    assert all(m.sent_at is not None for m in outbox.values())
    assert journey.platform.dispatch_notifications().sent == 0


@pytest.mark.rule("C1")
def test_the_in_memory_security_check_renews_and_has_a_sound_version() -> None:
    """« Renouveler le contrôle de sécurité » shows another image and the previous answer
    stops working; the sound version spells the same answer, which passes."""
    captcha = InMemoryCaptchaVerifier()
    assert captcha.instruction == "Cliquer sur l'image Trombone"
    assert captcha.verify(" Trombone ")
    assert captcha.renew() == "Cliquer sur l'image Ciseaux"
    assert not captcha.verify("trombone")
    assert "C, I, S, E, A, U, X" in captcha.sound_version()
    assert captcha.verify("ciseaux")
    for _ in InMemoryCaptchaVerifier.IMAGES:
        captcha.renew()
    assert captcha.instruction == "Cliquer sur l'image Ciseaux"  # round the images
