"""The composition root: the one place where adapters are wired into a :class:`Platform`.

:func:`build` takes the adapters; :func:`build_in_memory` makes them all in memory;
:func:`build_from_config` makes the ones a :class:`~peps_onboarding.config.PlatformConfig`
names (``make_mailer``, ``make_letters``, ``make_renderer``, ``make_net_entreprises``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from attrs import evolve, frozen

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
from .application.dependencies import Dependencies
from .application.platform import Platform
from .application.rendering import PlainTextEmailRenderer
from .application.secrets import PlatformSecret
from .config import DEFAULT_BASE_URL, ConfigError, PlatformConfig
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

__all__ = [
    "InMemoryPlatform",
    "build",
    "build_from_config",
    "build_in_memory",
    "make_letters",
    "make_mailer",
    "make_net_entreprises",
    "make_renderer",
]


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
    hasher = hasher or Argon2PasswordHasher()
    return Platform(
        Dependencies(
            unit_of_work=unit_of_work,
            registry=registry,
            contracts=contracts,
            net_entreprises=net_entreprises,
            captcha=captcha,
            clock=clock or SystemClock(),
            hasher=hasher,
            random=random or SystemRandomSource(),
            mailer=mailer,
            letters=letters,
            renderer=renderer or PlainTextEmailRenderer(),
            secret=PlatformSecret(secret),
            policy=policy or Policy(),
            base_url=base_url,
            accept_test_email_domains=accept_test_email_domains,
            # Compared against when the identifier is unknown, so that both answers
            # cost one hash comparison (A4).
            dummy_hash=hasher.hash("Pep's-0-dummy!"),
        )
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
    database: InMemoryDatabase | None = None,
) -> InMemoryPlatform:
    """Everything in memory: for hosts' tests, and for the demo.

    The hasher defaults to Argon2id with the cheapest parameters, so tests stay fast.
    ``unit_of_work`` puts the stores elsewhere (a SQLite file for the demo); the
    returned ``database`` is then unused. ``database`` brings a ready one (for instance
    an ``InMemoryDatabase(interleave=…)`` for the concurrency suite).
    """
    source = random or SystemRandomSource()
    database = database or InMemoryDatabase()
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


# --- from the configuration ------------------------------------------------------------


def make_mailer(config: PlatformConfig) -> Mailer:
    """The mailer ``config.mail_backend`` names: in memory, a folder of ``.eml``, or SMTP."""
    if config.mail_backend == "folder":
        from .adapters.folder_mailer import FolderMailer

        return FolderMailer(config.mail_folder, sender_address=config.sender_address)
    if config.mail_backend == "smtp":
        from .adapters.smtp import SmtpMailer, SmtpSettings

        return SmtpMailer(
            SmtpSettings(
                host=config.smtp_host,
                port=config.smtp_port,
                security=config.smtp_security,  # type: ignore[arg-type]  # validated there
                username=config.smtp_username,
                password=config.smtp_password,
                sender_address=config.sender_address,
            )
        )
    return InMemoryMailer()


def make_letters(config: PlatformConfig) -> LetterSender:
    """The letter sender ``config.letters_backend`` names: in memory, or a PDF spool."""
    if config.letters_backend == "spool":
        from .adapters.pdf_letters import SpoolLetterSender

        return SpoolLetterSender(config.letters_folder)
    return InMemoryLetterSender()


def make_renderer(config: PlatformConfig) -> EmailRenderer:
    """HTML and text e-mails (Jinja) when ``config.html_emails``, else plain text."""
    if config.html_emails:
        from .adapters.jinja_emails import JinjaEmailRenderer

        return JinjaEmailRenderer()
    return PlainTextEmailRenderer()


def make_net_entreprises(config: PlatformConfig) -> NetEntreprisesVerifier:
    """Net-Entreprises over HTTP when an environment is configured, else in memory."""
    if config.net_entreprises_environment is None:
        return InMemoryNetEntreprisesVerifier()
    from .adapters.net_entreprises import (
        HttpNetEntreprisesVerifier,
        NetEntreprisesEnvironment,
        NetEntreprisesSettings,
    )

    environment = config.net_entreprises_environment
    if environment not in ("test", "production"):
        raise ConfigError("PEPS_NET_ENTREPRISES_ENV must be test or production")
    settings = NetEntreprisesSettings(environment=cast(NetEntreprisesEnvironment, environment))
    if config.net_entreprises_service_code:
        settings = evolve(settings, service_code=config.net_entreprises_service_code)
    return HttpNetEntreprisesVerifier(settings)


def build_from_config(
    config: PlatformConfig,
    *,
    unit_of_work: Callable[[], UnitOfWork],
    directory: ContractDirectory,
    registry: EstablishmentRegistry | None = None,
    captcha: CaptchaVerifier,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    policy: Policy | None = None,
) -> Platform:
    """The platform with the adapters the configuration names.

    ``registry`` defaults to INSEE Sirene when a key is configured, else to
    ``directory`` (which must then also be an :class:`EstablishmentRegistry`).
    """
    if config.secret is None:
        raise ConfigError("PEPS_SECRET (or PEPS_SECRET_FILE) is required")
    if registry is None and config.sirene_api_key:
        from .adapters.sirene import SireneRegistry, SireneSettings

        registry = SireneRegistry(SireneSettings(api_key=config.sirene_api_key))
    if registry is None:
        if not hasattr(directory, "establishment"):
            raise ConfigError("no establishment registry: configure Sirene or pass one")
        registry = cast(EstablishmentRegistry, directory)
    return build(
        unit_of_work=unit_of_work,
        registry=registry,
        contracts=directory,
        net_entreprises=make_net_entreprises(config),
        captcha=captcha,
        mailer=make_mailer(config),
        letters=make_letters(config),
        renderer=make_renderer(config),
        secret=config.secret,
        clock=clock,
        hasher=hasher,
        policy=policy,
        base_url=config.base_url,
    )
