"""The composition root: the one place where adapters are wired into a :class:`Platform`."""

from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from .adapters.argon2 import Argon2PasswordHasher
from .adapters.clock import SystemClock
from .adapters.memory import (
    InMemoryCaptchaVerifier,
    InMemoryDatabase,
    InMemoryDirectory,
    InMemoryLetterSender,
    InMemoryMailer,
    InMemoryNetEntreprisesVerifier,
)
from .adapters.randomness import SystemRandomSource
from .application.platform import Platform
from .application.rendering import PlainTextEmailRenderer
from .application.secrets import PlatformSecret
from .domain.policy import Policy
from .ports import (
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
    UnitOfWork,
)

__all__ = ["InMemoryPlatform", "build", "build_in_memory"]

DEFAULT_BASE_URL = "https://plateforme-employeurs.caissedesdepots.fr"


def build(
    *,
    unit_of_work: Callable[[], UnitOfWork],
    registry: EstablishmentRegistry,
    contracts: ContractDirectory,
    net_entreprises: NetEntreprisesVerifier,
    captcha: CaptchaVerifier,
    mailer: Mailer,
    letters: LetterSender,
    secret: bytes,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    random: RandomSource | None = None,
    renderer: EmailRenderer | None = None,
    policy: Policy | None = None,
    base_url: str = DEFAULT_BASE_URL,
    accept_test_email_domains: bool = False,
) -> Platform:
    """Builds the platform from the host's adapters.

    ``secret`` (32 bytes or more, kept out of the database) derives link tokens from
    the nonces the outbox keeps and signs Net-Entreprises tickets: every instance of a
    host must share it, and changing it voids the links not yet delivered.
    Production defaults: system clock, Argon2id, the OS random source, plain-text
    e-mails and the spec's policy.
    """
    return Platform(
        unit_of_work=unit_of_work,
        registry=registry,
        contracts=contracts,
        net_entreprises=net_entreprises,
        captcha=captcha,
        clock=clock or SystemClock(),
        hasher=hasher or Argon2PasswordHasher(),
        random=random or SystemRandomSource(),
        mailer=mailer,
        letters=letters,
        renderer=renderer or PlainTextEmailRenderer(),
        secret=PlatformSecret(secret),
        policy=policy or Policy(),
        base_url=base_url,
        accept_test_email_domains=accept_test_email_domains,
    )


@frozen(kw_only=True)
class InMemoryPlatform:
    """A platform on in-memory adapters, with handles on each for tests and demos."""

    platform: Platform
    database: InMemoryDatabase
    directory: InMemoryDirectory
    mailer: InMemoryMailer
    letters: InMemoryLetterSender
    net_entreprises: InMemoryNetEntreprisesVerifier
    captcha: InMemoryCaptchaVerifier


def build_in_memory(
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    random: RandomSource | None = None,
    policy: Policy | None = None,
    renderer: EmailRenderer | None = None,
    directory: InMemoryDirectory | None = None,
    secret: bytes | None = None,
    base_url: str = DEFAULT_BASE_URL,
    unit_of_work: Callable[[], UnitOfWork] | None = None,
) -> InMemoryPlatform:
    """Everything in memory: for hosts' tests, and for the demo.

    The hasher defaults to Argon2id with the cheapest parameters, so tests stay fast.
    ``unit_of_work`` puts the stores elsewhere (a SQLite file for the demo); the
    returned ``database`` is then unused.
    """
    source = random or SystemRandomSource()
    database = InMemoryDatabase()
    directory = directory or InMemoryDirectory()
    mailer, letters = InMemoryMailer(), InMemoryLetterSender()
    net_entreprises, captcha = InMemoryNetEntreprisesVerifier(), InMemoryCaptchaVerifier()
    platform = build(
        unit_of_work=unit_of_work or database.unit_of_work,
        registry=directory,
        contracts=directory,
        net_entreprises=net_entreprises,
        captcha=captcha,
        mailer=mailer,
        letters=letters,
        secret=secret or source.token_bytes(32),
        clock=clock,
        hasher=hasher or Argon2PasswordHasher.fast_for_tests(),
        random=source,
        renderer=renderer,
        policy=policy,
        base_url=base_url,
        accept_test_email_domains=True,
    )
    return InMemoryPlatform(
        platform=platform,
        database=database,
        directory=directory,
        mailer=mailer,
        letters=letters,
        net_entreprises=net_entreprises,
        captcha=captcha,
    )
