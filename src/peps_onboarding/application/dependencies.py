"""What every use case works with, built once by the composition root, and the one place
where a transient conflict is retried."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from attrs import field, frozen

from ..domain.errors import ConflictError
from ..domain.policy import Policy
from ..ports import (
    CaptchaVerifier,
    Clock,
    ContractDirectory,
    EmailRenderer,
    EstablishmentRegistry,
    LetterSender,
    Mailer,
    NetEntreprisesVerifier,
    PasswordHasher,
    RandomSource,
    Throttle,
    UnitOfWork,
)
from .link_paths import LinkPaths
from .secrets import PlatformSecret

__all__ = ["CONFLICT_ATTEMPTS", "Dependencies", "retrying"]

T = TypeVar("T")


def _without_trailing_slash(url: str) -> str:
    return url.rstrip("/")


# A use case that lost a race runs again on fresh state, at most this many times in all;
# then the caller gets the one transient error, ``ConflictError``.
CONFLICT_ATTEMPTS = 4
_BACKOFF = 0.005  # seconds: the first retry waits up to this, the n-th up to n times it


@frozen(kw_only=True)
class Dependencies:
    """The ports and settings the use cases share (frozen: built once, never rewired)."""

    unit_of_work: Callable[[], UnitOfWork]
    registry: EstablishmentRegistry
    contracts: ContractDirectory
    net_entreprises: NetEntreprisesVerifier
    captcha: CaptchaVerifier
    clock: Clock
    hasher: PasswordHasher
    random: RandomSource
    mailer: Mailer
    letters: LetterSender
    renderer: EmailRenderer
    secret: PlatformSecret
    policy: Policy
    throttle: Throttle  # P1
    base_url: str = field(converter=_without_trailing_slash)
    accept_test_email_domains: bool = False
    # How a login waits for a password-check slot held by a concurrent login (A4).
    pause: Callable[[float], None] = time.sleep
    dummy_hash: str = ""
    link_paths: LinkPaths = field(factory=LinkPaths)


def retrying(
    run: Callable[[], T],
    *,
    attempts: int = CONFLICT_ATTEMPTS,
    pause: Callable[[float], None] | None = None,
) -> T:
    """Rule-free plumbing: a ``ConflictError`` (two writers raced) re-runs ``run`` on fresh
    state; past ``attempts`` the conflict reaches the caller. With ``pause``, each retry
    first waits a random moment, longer each time, so that many writers racing on one
    record spread out instead of colliding again together."""
    for attempt in range(1, attempts):
        try:
            return run()
        except ConflictError:
            if pause is not None:
                pause(random.uniform(0, _BACKOFF * attempt))  # noqa: S311 (not a secret)
    try:
        return run()
    except ConflictError as error:
        # Whatever the store said (a version moved, a key was taken, a lock timed out),
        # the caller gets the one transient outcome: « … Veuillez réessayer ».
        raise ConflictError(str(error)) from error
