"""E-mails, letters and the outbox (M1–M4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from peps_onboarding import (
    DispatchReport,
    EmailKind,
    EmailMessage,
    EmailNotification,
    OutboxMessage,
    Platform,
    Policy,
    ValidationError,
    build,
)
from peps_onboarding.adapters.argon2 import Argon2PasswordHasher
from peps_onboarding.adapters.clock import FakeClock
from peps_onboarding.adapters.memory import (
    InMemoryCaptchaVerifier,
    InMemoryDatabase,
    InMemoryDirectory,
    InMemoryLetterSender,
    InMemoryNetEntreprisesVerifier,
)
from peps_onboarding.testing import HOSPITAL, HOSPITAL_CONTRACT, PASSWORD, Journey, holder_form

EMAIL = "jeanne.dupont@employeur.example"
FOOTER = "Cet email vous a été envoyé par un automate. Merci de ne pas répondre."


@pytest.mark.rule("M1", "M4")
def test_every_email_is_french_says_it_comes_from_an_automaton_and_carries_no_password(
    journey: Journey,
) -> None:
    """M1: the five e-mails; M4: never a password."""
    submitted = journey.register()
    journey.create_password(EMAIL)
    journey.later(days=8)
    journey.platform.sweep()
    journey.join_with_net_entreprises()
    journey.platform.request_password_reset(submitted.identifier)
    journey.register("26330045100014", "FM330045")  # another one, to withdraw
    journey.platform.withdraw_registration(journey.withdrawal_code_in_letter("26330045100014"))
    journey.deliver()
    mails = journey.world.mailer.sent
    assert {m.kind for m in mails} == set(EmailKind)
    for mail in mails:
        assert FOOTER in mail.text
        assert "Bonjour" in mail.text
        assert PASSWORD not in mail.text
        assert "ne-password" not in mail.text


@pytest.mark.rule("M3")
def test_a_failing_mailer_loses_nothing_and_delivery_is_retried_with_backoff(
    journey: Journey,
) -> None:
    """M3: the notification stays owed until delivered, then is delivered once."""
    journey.world.mailer.fail_next(2)
    journey.world.letters.fail_next(1)
    journey.register()
    first = journey.platform.dispatch_notifications()
    assert (first.sent, first.failed, first.pending) == (0, 2, 2)
    assert journey.platform.dispatch_notifications().sent == 0  # backoff: not due yet
    journey.later(minutes=1)
    second = journey.platform.dispatch_notifications()
    assert (second.sent, second.failed) == (1, 1)
    journey.later(minutes=2)
    third = journey.platform.dispatch_notifications()
    assert (third.sent, third.pending) == (1, 0)
    assert len(journey.world.mailer.sent) == 1
    assert len(journey.world.letters.sent) == 1
    assert journey.platform.dispatch_notifications().sent == 0


@pytest.mark.rule("M3", "L1")
def test_a_state_change_and_its_notifications_are_recorded_together(journey: Journey) -> None:
    """M3: the outbox rows come with the commit of the change, not before, not after."""
    db = journey.world.database
    commits = db.commits
    journey.register()
    assert db.commits == commits + 1
    assert len(db.unsent) == 2  # the creation e-mail and the letter
    assert {e.kind for e in db.events} >= {"registration_submitted", "account_created"}


@pytest.mark.rule("M3")
def test_retries_back_off_exponentially_up_to_a_ceiling(journey: Journey) -> None:
    """M3: 1 min, 2 min, 4 min … capped."""
    policy = journey.platform.policy
    assert [policy.retry_delay(n) for n in (1, 2, 3)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
    ]
    assert policy.retry_delay(50) == policy.notification_retry_max


@pytest.mark.rule("M4")
def test_the_outbox_keeps_no_raw_token(journey: Journey) -> None:
    """M4: the outbox holds a nonce; the token exists only in the delivered e-mail."""
    journey.register()
    outbox = repr(journey.world.database.outbox)
    token = journey.last_token(EMAIL)
    assert token not in outbox
    assert token not in repr(journey.world.database.links)


# --- one lease per delivery ---------------------------------------------------------------


class SlowRelay:
    """A mailer that takes one (fake) second a message. While it is sending, ``meanwhile``
    runs: the other dispatcher's next delivery, as it would run on another host at the
    same time. It records every send that reaches it, duplicates included."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sends: list[str] = []
        self.meanwhile: Callable[[], object] | None = None
        self._busy = False

    def send(self, message: EmailMessage) -> None:
        self.sends.append(message.message_id)
        self.clock.advance(timedelta(seconds=1))
        if self.meanwhile is not None and not self._busy:
            self._busy = True
            try:
                self.meanwhile()
            finally:
                self._busy = False


def _dispatcher(database: InMemoryDatabase, clock: FakeClock, relay: SlowRelay) -> Platform:
    directory = InMemoryDirectory()
    return build(
        unit_of_work=database.unit_of_work,
        registry=directory,
        contracts=directory,
        net_entreprises=InMemoryNetEntreprisesVerifier(),
        captcha=InMemoryCaptchaVerifier(),
        mailer=relay,
        letters=InMemoryLetterSender(),
        secret=b"dispatcher-secret-dispatcher-00!",
        clock=clock,
        hasher=Argon2PasswordHasher.fast_for_tests(),
        policy=Policy(notification_claim_lease=timedelta(seconds=2)),
    )


def _owed_email(n: int, at: datetime, *, to: str | None = None) -> OutboxMessage:
    return OutboxMessage(
        id=f"{n:032x}",
        siret="21330063500017",
        created_at=at,
        next_attempt_at=at,
        notification=EmailNotification(
            kind=EmailKind.ACCESS_OPEN,
            to=to or f"agent{n}@employeur.example",
            recipient="Madame Jeanne Dupont",
            siret="21330063500017",
            designation="Commune de Saint-Aubin",
            identifier="DUJ000001",
        ),
    )


@pytest.mark.rule("M3")
def test_two_dispatchers_over_a_slow_relay_never_send_an_email_twice() -> None:
    """M3: with a 2 s lease and 1 s a message, two dispatchers share four e-mails and
    none is sent twice (a lease covers one delivery, not a batch: a batch claimed at
    once had lapsed by the third e-mail, which the other dispatcher then sent too)."""
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    clock, database = FakeClock(start), InMemoryDatabase()
    with database.unit_of_work() as uow:
        for n in range(4):
            uow.outbox.add(_owed_email(n, start))
        uow.commit()
    relay = SlowRelay(clock)
    first, second = _dispatcher(database, clock, relay), _dispatcher(database, clock, relay)
    reports: list[DispatchReport] = []
    relay.meanwhile = lambda: reports.append(second.dispatch_notifications(limit=1))
    report = first.dispatch_notifications(limit=4)
    assert sorted(relay.sends) == [f"{n:032x}" for n in range(4)]  # each once
    assert report.sent + sum(r.sent for r in reports) == 4
    assert report.sent < 4  # the second dispatcher took its share
    assert (report.failed, report.pending) == (0, 0)
    assert not database.unsent


# --- dead letters -------------------------------------------------------------------------


@pytest.mark.rule("M3")
def test_a_permanent_refusal_makes_a_dead_letter_at_once_which_an_operator_retries(
    journey: Journey,
) -> None:
    """M3: a refused e-mail is not retried every 6 hours: it is a dead letter, counted
    and listed (who, what, why); retried by an operator, it is delivered."""
    journey.world.mailer.refuse_next(1)
    journey.register()
    report = journey.platform.dispatch_notifications()
    assert (report.sent, report.failed, report.dead_lettered) == (1, 1, 1)  # the letter went
    assert (report.pending, report.dead) == (0, 1)
    [dead] = journey.platform.dead_letters()
    assert dead.kind == EmailKind.PASSWORD_CREATION.value
    assert dead.kind_label == "Courriel : lien de création du mot de passe"
    assert dead.recipient == EMAIL
    assert dead.attempts == 1
    assert dead.last_error is not None and dead.last_error.startswith("notification.refused")
    assert dead.dead_at == journey.clock.now()
    journey.later(days=2)
    assert journey.platform.dispatch_notifications().failed == 0  # never due again by itself
    assert journey.world.mailer.sent == []
    assert journey.platform.retry_dead_letters() == 1
    assert journey.platform.dead_letters() == ()
    after = journey.platform.dispatch_notifications()
    assert (after.sent, after.pending, after.dead) == (1, 0, 0)
    assert [m.message_id for m in journey.world.mailer.sent] == [dead.id]
    assert journey.platform.retry_dead_letters() == 0


@pytest.mark.rule("M3")
def test_a_message_that_keeps_failing_becomes_a_dead_letter_after_the_last_attempt() -> None:
    """M3: after ``notification_max_attempts`` failures (here 3), it is given up on."""
    journey = Journey.start(policy=Policy(notification_max_attempts=3))
    journey.world.mailer.fail_next(100)
    journey.register()
    reports = []
    for _ in range(5):
        reports.append(journey.platform.dispatch_notifications())
        journey.later(hours=6)
    assert [(r.failed, r.dead_lettered) for r in reports] == [
        (1, 0),
        (1, 0),
        (1, 1),
        (0, 0),
        (0, 0),
    ]
    assert (reports[-1].pending, reports[-1].dead) == (0, 1)
    [dead] = journey.platform.dead_letters()
    assert dead.attempts == 3
    assert dead.last_error == "notification.delivery_failed: le serveur de courriel ne répond pas"


@pytest.mark.rule("M3")
def test_retrying_chosen_dead_letters_resets_their_attempts_and_skips_other_ids(
    journey: Journey,
) -> None:
    """M3: only the ids given come back, attempts counted from zero; an id that is not a
    dead letter (unknown, or already retried) is skipped."""
    journey.world.mailer.refuse_next(2)
    journey.register()
    journey.register(HOSPITAL, HOSPITAL_CONTRACT, holder=holder_form("Paul", "Martin"))
    journey.deliver()
    chosen, other = journey.platform.dead_letters()
    assert journey.platform.retry_dead_letters([chosen.id, "inconnu", chosen.id]) == 1
    assert journey.platform.retry_dead_letters([chosen.id]) == 0
    retried = journey.world.database.outbox[chosen.id]
    assert (retried.attempts, retried.dead_at, retried.next_attempt_at) == (
        0,
        None,
        journey.clock.now(),
    )
    assert [d.id for d in journey.platform.dead_letters()] == [other.id]
    journey.deliver()
    assert [m.message_id for m in journey.world.mailer.sent] == [chosen.id]


# --- addresses the relay cannot take ------------------------------------------------------


@pytest.mark.rule("M1", "C4")
def test_an_address_with_accents_before_the_at_sign_is_refused_at_input(
    journey: Journey,
) -> None:
    """M1: a relay without SMTPUTF8 (the default) cannot deliver to « jérôme.durand@… »: the
    form says so on ``courriel``, with every other field error, and nothing is owed."""
    address = "jérôme.durand@employeur.example"
    with pytest.raises(ValidationError) as caught:
        journey.register(holder=holder_form(email=address))
    assert set(caught.value.fields) == {"courriel", "confirmation_courriel"}
    assert caught.value.fields["courriel"].code == "email.not_deliverable"
    assert "avant « @ »" in caught.value.messages["courriel"]
    assert not journey.world.database.outbox


@pytest.mark.rule("M1", "R5", "N3")
def test_every_form_that_takes_an_email_refuses_what_the_relay_cannot_deliver(
    journey: Journey,
) -> None:
    """M1: the administrator's new user (R5) and the Net-Entreprises completion (N3) too."""
    admin = journey.enrolled_administrator()
    with pytest.raises(ValidationError) as caught:
        journey.platform.create_user(
            admin, holder_form("Zoé", "Noël", email="zoé@employeur.example")
        )
    assert "courriel" in caught.value.fields
    with pytest.raises(ValidationError) as caught:
        journey.join_with_net_entreprises(email="paul.müller@employeur.example")
    assert "courriel" in caught.value.fields


@pytest.mark.rule("M1")
def test_an_smtputf8_relay_takes_accents_before_the_at_sign() -> None:
    """M1: ``Policy(smtputf8_relay=True)`` accepts and sends the address as it is."""
    journey = Journey.start(policy=Policy(smtputf8_relay=True))
    address = "jérôme.durand@employeur.example"
    journey.register(holder=holder_form(email=address))
    assert [m.to for m in journey.mails_to(address)] == [address]


@pytest.mark.rule("M1")
def test_a_domain_name_with_accents_is_accepted_and_sent_as_idna(journey: Journey) -> None:
    """M1: only the part before « @ » matters: the domain travels as IDNA (``xn--``)."""
    journey.register(holder=holder_form(email="jeanne.dupont@mairie-épône.example"))
    journey.deliver()
    [mail] = journey.world.mailer.sent
    assert mail.to == "jeanne.dupont@xn--mairie-pne-h7a7k.example"


@pytest.mark.rule("M1", "M3")
def test_an_owed_email_to_an_address_the_relay_cannot_take_is_a_dead_letter(
    journey: Journey,
) -> None:
    """M3: an address accepted before the switch was set is not retried forever: the
    dispatcher gives it up at once, without bothering the relay."""
    with journey.world.database.unit_of_work() as uow:
        uow.outbox.add(_owed_email(1, journey.clock.now(), to="jérôme.durand@employeur.example"))
        uow.commit()
    report = journey.platform.dispatch_notifications()
    assert (report.sent, report.dead_lettered, report.dead) == (0, 1, 1)
    assert journey.world.mailer.sent == []
    [dead] = journey.platform.dead_letters()
    assert dead.last_error is not None and "SMTPUTF8" in dead.last_error
