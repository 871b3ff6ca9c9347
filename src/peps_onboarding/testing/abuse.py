"""The abuse properties as a contract suite: what an anonymous caller learns and can do
(rules C10, P1, P2, P3, A4), checked over a host's own journey.

Subclass :class:`AbuseContract` to run it over another policy, seed or renderer: override
:meth:`AbuseContract.make_journey` (it must pass ``hasher`` on, which counts the password
comparisons)::

    from peps_onboarding.testing import Journey
    from peps_onboarding.testing.abuse import AbuseContract


    class TestOurAbuse(AbuseContract):
        def make_journey(self, hasher):
            return Journey.start(seed=11, hasher=hasher)

Each check compares what two requests that differ only by whether an account exists
(or by whether a limit is reached) leave behind: the answer, the records they add, the
commits, the e-mails and the password comparisons. Time is measured by ``bench/abuse.py``,
not here: a test must not depend on a shared machine's speed. The ``rule`` marker is
registered as in :mod:`peps_onboarding.testing.contracts`.

Requires the ``[testing]`` extra (pytest).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from attrs import frozen

from ..adapters.argon2 import Argon2PasswordHasher
from ..application.commands import ClassicRegistration
from ..domain.errors import (
    InvalidCredentialsError,
    OnboardingError,
    StepOneRequiredError,
    TooManyAttemptsError,
)
from ..ports import PasswordHasher
from .concurrency import CountingHasher
from .journeys import PASSWORD, Journey, holder_form

__all__ = ["AbuseContract", "Footprint"]

_UNKNOWN = "ZZZ999999"  # well formed, and never issued by the sample journeys
_SOURCE = "192.0.2.200"


@frozen
class Footprint:
    """What one request left behind: its answer, and what it added."""

    answer: str
    links: int
    events: int
    outbox: int
    accounts: int
    commits: int
    mails: int
    comparisons: int


def footprint(journey: Journey, hasher: CountingHasher, request: Callable[[], object]) -> Footprint:
    """Runs ``request`` and says what it left in the journey's in-memory world."""
    db, mailer = journey.world.database, journey.world.mailer
    before = (len(db.links), len(db.events), len(db.outbox), len(db.accounts), db.commits)
    mails, comparisons = len(mailer.sent), hasher.verifications
    try:
        answer = repr(request())
    except OnboardingError as error:
        answer = f"{error.code}: {error}"
    after = (len(db.links), len(db.events), len(db.outbox), len(db.accounts), db.commits)
    links, events, outbox, accounts, commits = (b - a for a, b in zip(before, after, strict=True))
    return Footprint(
        answer=answer,
        links=links,
        events=events,
        outbox=outbox,
        accounts=accounts,
        commits=commits,
        mails=len(mailer.sent) - mails,
        comparisons=hasher.verifications - comparisons,
    )


class AbuseContract:
    """Rules C10, P1, P2, P3, A4 over :meth:`make_journey`'s platform."""

    def make_journey(self, hasher: PasswordHasher) -> Journey:
        """The hook hosts override: a journey whose platform uses ``hasher``."""
        return Journey.start(hasher=hasher)

    @pytest.fixture
    def world(self) -> tuple[Journey, CountingHasher, str]:
        """A journey, its counting hasher, and an enrolled administrator."""
        hasher = CountingHasher(Argon2PasswordHasher.fast_for_tests())
        journey = self.make_journey(hasher)
        return journey, hasher, journey.enrolled_administrator()

    @pytest.mark.rule("P2", "A5")
    def test_forgotten_password_leaves_the_same_footprint_for_anyone(
        self, world: tuple[Journey, CountingHasher, str]
    ) -> None:
        """P2: the same answer, records, commits and (no) e-mail on the request path,
        whether or not the identifier has an account."""
        journey, hasher, admin = world
        platform = journey.platform
        known = footprint(journey, hasher, lambda: platform.request_password_reset(admin))
        unknown = footprint(journey, hasher, lambda: platform.request_password_reset(_UNKNOWN))
        assert known == unknown
        assert known.mails == 0  # composed off the request path
        journey.deliver()  # and the account that exists gets its link then
        assert any(mail.kind.value == "password_reset" for mail in journey.world.mailer.sent)

    @pytest.mark.rule("A4", "P2")
    def test_an_unknown_identifier_and_a_wrong_password_leave_the_same_footprint(
        self, world: tuple[Journey, CountingHasher, str]
    ) -> None:
        """A4: one error, one password comparison each; nothing tells them apart but the
        failure the real account counts, which its holder alone sees."""
        journey, hasher, admin = world
        platform = journey.platform
        wrong = footprint(journey, hasher, lambda: platform.login(admin, "Mauvais-1!"))
        unknown = footprint(journey, hasher, lambda: platform.login(_UNKNOWN, "Mauvais-1!"))
        assert (
            wrong.answer
            == unknown.answer
            == f"{InvalidCredentialsError.code}: " + str(InvalidCredentialsError())
        )
        assert wrong.comparisons == unknown.comparisons == 1

    @pytest.mark.rule("P1")
    def test_a_throttled_request_stores_sends_and_checks_nothing(
        self, world: tuple[Journey, CountingHasher, str]
    ) -> None:
        """P1: past the limit, « Trop de tentatives… », and no trace but the answer."""
        journey, hasher, admin = world
        limit = journey.platform.policy.rate_limits.password_reset_per_identifier.amount
        for _ in range(limit):
            journey.platform.request_password_reset(admin, client=_SOURCE)
        refused = footprint(journey, hasher, lambda: journey.platform.request_password_reset(admin))
        assert refused.answer.startswith(f"{TooManyAttemptsError.code}: Trop de tentatives.")
        assert refused == Footprint(refused.answer, 0, 0, 0, 0, 0, 0, 0)

    @pytest.mark.rule("P3", "A4")
    def test_a_source_past_its_limit_adds_no_failure_to_the_account(
        self, world: tuple[Journey, CountingHasher, str]
    ) -> None:
        """P3: refused before any comparison; the right password still works elsewhere."""
        journey, hasher, admin = world
        platform = journey.platform
        limits = platform.policy.rate_limits
        for _ in range(limits.login_failures_per_source_and_identifier.amount):
            with pytest.raises(InvalidCredentialsError):
                platform.login(admin, "Mauvais-1!", client=_SOURCE)
        refused = footprint(
            journey, hasher, lambda: platform.login(admin, PASSWORD, client=_SOURCE)
        )
        assert refused.answer.startswith(TooManyAttemptsError.code)
        assert (refused.comparisons, refused.commits) == (0, 0)
        assert platform.login(admin, PASSWORD, client="192.0.2.201").identifier == admin

    @pytest.mark.rule("C10")
    def test_steps_two_and_three_reveal_and_store_nothing_without_step_one(
        self, world: tuple[Journey, CountingHasher, str]
    ) -> None:
        """C10: no proof, no registration, no names, no resend."""
        journey, hasher, _ = world
        platform = journey.platform
        for request in (
            lambda: platform.register(
                ClassicRegistration(proof="", holder=holder_form(), terms_accepted=True)
            ),
            lambda: platform.administrators(""),
            lambda: platform.resend_creation_link(""),
        ):
            left = footprint(journey, hasher, request)
            assert left.answer == f"{StepOneRequiredError.code}: {StepOneRequiredError()}"
            assert left == Footprint(left.answer, 0, 0, 0, 0, 0, 0, 0)
