"""Every number and list of the spec that a host may want to change, in one value."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from attrs import field, frozen

from .rights import FMIS_ALLOCATIONS, FMIS_REFUNDS, AccessLevel, Right, Service
from .throttling import RateLimits

__all__ = ["Policy", "add_months"]


def _default_services() -> tuple[Service, ...]:
    return (FMIS_ALLOCATIONS, FMIS_REFUNDS)


@frozen(kw_only=True)
class Policy:
    """The spec's defaults; ``attrs.evolve(Policy(), max_failed_logins=5)`` for another value."""

    creation_link_validity: timedelta = timedelta(days=15)  # C5, C6
    reset_link_validity: timedelta = timedelta(days=3)  # A5
    objection_period_days: int = 8  # C5: calendar days before access opens
    max_failed_logins: int = 3  # A4 (the live platform has moved to 5)
    account_lifetime_months: int = 18  # A7
    eligible_legal_category_prefixes: tuple[str, ...] = ("7", "41")  # E4, inferred
    services: tuple[Service, ...] = field(factory=_default_services)  # R2
    default_rights: tuple[Right, ...] = ()  # R4: none on every service
    administrators_shown: int = 3  # C2: the first three names
    net_entreprises_ticket_validity: timedelta = timedelta(minutes=30)
    notification_retry_base: timedelta = timedelta(minutes=1)  # M3 backoff
    notification_retry_max: timedelta = timedelta(hours=6)
    notification_claim_lease: timedelta = timedelta(minutes=5)  # one dispatcher per delivery
    # M3: the failure that makes a message a dead letter; 20 with the backoff above is
    # about 3 days of trying (1 min doubling to 6 h: 8.5 h for the first 10, then 6 h each).
    notification_max_attempts: int = 20
    # Whether the mail relay takes SMTPUTF8 (RFC 6531). When it does not, an address whose
    # part before « @ » is not ASCII cannot be delivered, and is refused at input (M1).
    smtputf8_relay: bool = False
    timezone: str = "Europe/Paris"  # calendar days and dates on screens
    # C10: how long a passed step 1 lets the later steps act on its pair.
    step_one_proof_validity: timedelta = timedelta(minutes=30)
    rate_limits: RateLimits = field(factory=RateLimits)  # P1

    def __attrs_post_init__(self) -> None:
        if self.max_failed_logins < 1 or self.account_lifetime_months < 1:
            raise ValueError("max_failed_logins and account_lifetime_months must be positive")
        if self.notification_max_attempts < 1:
            raise ValueError("notification_max_attempts must be positive")
        if self.step_one_proof_validity <= timedelta(0):
            raise ValueError("step_one_proof_validity must be positive")
        if self.notification_claim_lease <= timedelta(0):
            raise ValueError("notification_claim_lease must be positive")
        codes = [s.code for s in self.services]
        if len(set(codes)) != len(codes):
            raise ValueError("service codes must be unique")
        if any(r.service not in codes for r in self.default_rights):
            raise ValueError("default rights must name services of the catalogue")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def default_level(self, service: str) -> AccessLevel:
        for right in self.default_rights:
            if right.service == service:
                return right.level
        return AccessLevel.NONE

    def is_eligible_category(self, code: str) -> bool:
        return code.startswith(self.eligible_legal_category_prefixes)

    def access_opening(self, submitted_at: datetime) -> datetime:
        """Rule C5: day J is the submission's calendar day + 8, from midnight local time."""
        local_day = submitted_at.astimezone(self.zone).date()
        day_j = local_day + timedelta(days=self.objection_period_days)
        return datetime(day_j.year, day_j.month, day_j.day, tzinfo=self.zone).astimezone(
            submitted_at.tzinfo
        )

    def expiry_from(self, start: datetime) -> datetime:
        """Rule A7: the expiry date, ``account_lifetime_months`` after ``start``."""
        return add_months(start, self.account_lifetime_months)

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential backoff for a notification that failed ``attempts`` times (M3)."""
        factor: int = 2 ** min(max(attempts - 1, 0), 20)
        delay: timedelta = self.notification_retry_base * factor
        return min(delay, self.notification_retry_max)


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, the day clamped to the target month's length (31/08 + 6 → 28/02)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
