"""E-mails, letters and the outbox (M1–M4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from peps_onboarding import EmailKind
from peps_onboarding.testing import PASSWORD, Journey

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
