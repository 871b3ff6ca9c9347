"""Rule P1: how often each anonymous entry point may be used, per target and per source.

Pure values: the counting itself is the :class:`~peps_onboarding.ports.Throttle` port's.
The defaults follow django-allauth's (failed logins: 5 in 5 minutes per account, 10 a
minute per address) and ProConnect's (password reset: 5 in 15 minutes); the reasoning
for each is in ``docs/security.md``.
"""

from __future__ import annotations

from datetime import timedelta

from attrs import field, frozen

__all__ = ["RateLimit", "RateLimits"]


def _positive(instance: object, attribute: object, value: int) -> None:
    if value < 1:
        raise ValueError("a rate limit allows at least one use")


@frozen
class RateLimit:
    """At most ``amount`` uses in any moving window of ``period``."""

    amount: int = field(validator=_positive)
    period: timedelta

    def __attrs_post_init__(self) -> None:
        if self.period < timedelta(seconds=1):
            raise ValueError("a rate limit's period is at least a second")


def _minutes(amount: int, minutes: int) -> RateLimit:
    return RateLimit(amount, timedelta(minutes=minutes))


@frozen(kw_only=True)
class RateLimits:
    """Rule P1, every limit in one value; ``attrs.evolve`` for another one.

    *Per target* limits count uses on what is named (an identifier, a SIRET, an
    e-mail address, a person); *per source* limits count uses from one client address
    (an IPv6 address counts by its /64: one host usually holds the whole block).
    """

    # Step 1 (C1): a pair is typed a few times at most; a source may register several
    # establishments (a management centre), hence more.
    identification_per_siret: RateLimit = field(default=_minutes(10, 10))
    identification_per_source: RateLimit = field(default=_minutes(30, 10))
    # The security check itself: each challenge takes a place in a bounded store, so a
    # source asking for thousands would push out the ones people are answering. Four
    # per attempt of step 1 (renewals, a wrong answer) fit.
    security_check_per_source: RateLimit = field(default=_minutes(120, 10))
    # Logins (A4, P3): only failures count, so a person who logs in often is never held.
    # Per target, A4's block (3 failures) is the limit; a count per identifier on top would
    # only let anyone hold a person out of their account, blocked or not.
    login_failures_per_source: RateLimit = field(default=_minutes(10, 1))
    # P3: one source adds at most this many failures to one account, fewer than the
    # block's ``Policy.max_failed_logins`` (3), so no single source can block anyone;
    # 2 rather than 1 so that a person who mistypes twice waits instead of being blocked.
    login_failures_per_source_and_identifier: RateLimit = field(default=_minutes(2, 15))
    # Forgotten password (A5): each request mails the person, so the target limit is the
    # one that protects their mailbox.
    password_reset_per_identifier: RateLimit = field(default=_minutes(5, 15))
    password_reset_per_source: RateLimit = field(default=_minutes(20, 15))
    # Forgotten identifier (A6): its answer is on screen, so per e-mail address too.
    identifier_recovery_per_email: RateLimit = field(default=_minutes(5, 15))
    identifier_recovery_per_source: RateLimit = field(default=_minutes(20, 15))
    # Net-Entreprises sign-in (N1): every attempt checks a password upstream.
    net_entreprises_per_person: RateLimit = field(default=_minutes(5, 5))
    net_entreprises_per_source: RateLimit = field(default=_minutes(10, 1))
    # « Vous en envoyer un nouveau » (C3): each one mails the pending administrator.
    creation_resend_per_siret: RateLimit = field(default=_minutes(3, 60))
    creation_resend_per_source: RateLimit = field(default=_minutes(10, 60))
    # The withdrawal code (P4): its target is unknown until the code is right.
    withdrawal_per_source: RateLimit = field(default=_minutes(10, 60))
