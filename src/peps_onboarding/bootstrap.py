"""The composition root: the one place where adapters are wired into a :class:`Platform`.

:func:`build` takes the adapters; :func:`build_in_memory` makes them all in memory;
:func:`build_from_config` makes the ones a :class:`~peps_onboarding.config.PlatformConfig`
names (``make_mailer``, ``make_letters``, ``make_renderer``, ``make_net_entreprises``,
``make_captcha``),
and fails closed: no in-memory back-end, no missing links' base and no second secret on
one database, unless the caller says it is a demonstration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from .adapters.throttling import LimitsThrottle
from .application.dependencies import Dependencies
from .application.link_paths import LinkPaths
from .application.platform import Platform
from .application.rendering import PlainTextEmailRenderer
from .application.secrets import (
    PlatformSecret,
    SecretFingerprintStore,
    SecretMismatchError,
    claim_database,
)
from .config import DEFAULT_BASE_URL, DEMO_BASE_URL, ConfigError, PlatformConfig
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
    Throttle,
    UnitOfWork,
)

__all__ = [
    "InMemoryPlatform",
    "build",
    "build_from_config",
    "build_in_memory",
    "check_config",
    "check_secret",
    "make_captcha",
    "make_letters",
    "make_mailer",
    "make_net_entreprises",
    "make_renderer",
    "platform_secret",
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
    secret: bytes | PlatformSecret,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    random: RandomSource | None = None,
    renderer: EmailRenderer | None = None,
    policy: Policy | None = None,
    base_url: str = DEFAULT_BASE_URL,
    accept_test_email_domains: bool = False,
    throttle: Throttle | None = None,
    link_paths: LinkPaths | None = None,
) -> Platform:
    """Builds the platform from the host's adapters.

    ``secret`` (32 bytes or more, kept out of the database) derives link tokens from
    the nonces the outbox keeps and signs Net-Entreprises tickets: every instance of a
    host must share it. A :class:`PlatformSecret` with ``previous`` keys rotates it
    (the first signs, the others still verify). Production defaults: system clock,
    Argon2id, the OS random source, plain-text e-mails, the spec's policy, and rate
    limits counted in this process (``throttle=LimitsThrottle("redis://…")`` shares them
    between several instances: P1).
    ``link_paths``: where the e-mails' links point under ``base_url`` (the reference
    screens serve the same paths).
    ``build`` checks nothing about the environment; :func:`build_from_config` does.
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
            secret=secret if isinstance(secret, PlatformSecret) else PlatformSecret(secret),
            policy=policy or Policy(),
            throttle=throttle or LimitsThrottle(),
            base_url=base_url,
            accept_test_email_domains=accept_test_email_domains,
            # Compared against when the identifier is unknown, so that both answers
            # cost one hash comparison (A4).
            dummy_hash=hasher.hash("Pep's-0-dummy!"),
            link_paths=link_paths or LinkPaths(),
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
    throttle: Throttle | None = None,
    link_paths: LinkPaths | None = None,
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
    net_entreprises = InMemoryNetEntreprisesVerifier()
    captcha = InMemoryCaptchaVerifier(clock=clock)  # its challenges expire on this clock
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
        throttle=throttle,
        link_paths=link_paths,
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
    """HTML and text e-mails (Jinja) when ``config.html_emails``, else plain text; the
    footer's line on personal data leads to ``config.privacy_url`` (M1)."""
    if config.html_emails:
        from .adapters.jinja_emails import JinjaEmailRenderer

        return JinjaEmailRenderer(privacy_url=config.privacy_url)
    return PlainTextEmailRenderer(privacy_url=config.privacy_url)


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
        raise ConfigError(
            f"PEPS_NET_ENTREPRISES_ENV doit valoir production ou test, pas {environment!r}"
        )
    settings = NetEntreprisesSettings(environment=cast(NetEntreprisesEnvironment, environment))
    if config.net_entreprises_service_code:
        settings = evolve(settings, service_code=config.net_entreprises_service_code)
    return HttpNetEntreprisesVerifier(settings)


def make_captcha(config: PlatformConfig, *, clock: Clock | None = None) -> CaptchaVerifier:
    """Rule C1's security check: CaptchEtat when its client id and secret are configured
    (``PEPS_CAPTCHETAT_*``), else the image choice « Cliquer sur l'image Trombone » in
    this process (several processes then need sticky sessions: see
    :mod:`~peps_onboarding.adapters.captcha.store`). Never the in-memory one."""
    if config.captchetat_client_id and config.captchetat_client_secret:
        from .adapters.captcha.captchetat import CaptchEtatSettings, CaptchEtatVerifier

        defaults = CaptchEtatSettings(client_id="-", client_secret="-")
        settings = CaptchEtatSettings(
            client_id=config.captchetat_client_id,
            client_secret=config.captchetat_client_secret,
            base_url=config.captchetat_url or defaults.base_url,
            oauth_url=config.captchetat_oauth_url or defaults.oauth_url,
            style=config.captchetat_style or defaults.style,
        )
        return CaptchEtatVerifier(settings, clock=clock)
    from .adapters.captcha.image_choice import ImageChoiceCaptcha

    return ImageChoiceCaptcha(clock=clock)


def platform_secret(config: PlatformConfig) -> PlatformSecret:
    """The configured secret (``PEPS_SECRET``) and the previous ones that still verify."""
    if config.secret is None:
        raise ConfigError(
            "PEPS_SECRET n'est pas réglé : donnez le secret de la plateforme, 64 caractères "
            "hexadécimaux ou plus, le même sur chaque instance (ou PEPS_SECRET_FILE)"
        )
    return PlatformSecret(config.secret, previous=config.previous_secrets)


def check_secret(settings: SecretFingerprintStore, secret: PlatformSecret) -> None:
    """One secret per database (:func:`~.application.secrets.claim_database`), as a
    :class:`ConfigError` in French when this process's secret is another one."""
    try:
        claim_database(settings, secret)
    except SecretMismatchError as error:
        raise ConfigError(str(error)) from None


def check_config(
    config: PlatformConfig, *, demo: bool = False, net_entreprises: bool = True
) -> None:
    """What :func:`build_from_config` refuses, checked before anything is opened: the
    secret, and unless ``demo`` (or ``PEPS_DEMO``) the links' base and real back-ends
    (Net-Entreprises too, unless ``net_entreprises=False``)."""
    platform_secret(config)
    if not (demo or config.demo):
        missing = config.missing_for_production(net_entreprises=net_entreprises)
        if missing:
            raise _incomplete(missing)


def _missing(
    config: PlatformConfig,
    captcha: CaptchaVerifier,
    net_entreprises: NetEntreprisesVerifier | None,
    settings: SecretFingerprintStore | None,
) -> list[str]:
    missing = list(config.missing_for_production(net_entreprises=net_entreprises is None))
    if isinstance(net_entreprises, InMemoryNetEntreprisesVerifier):
        missing.append("Net-Entreprises serait simulé en mémoire : passez le vrai")
    if isinstance(captcha, InMemoryCaptchaVerifier):
        missing.append(
            "le contrôle de sécurité serait simulé en mémoire (il accepte « trombone ») : "
            "passez celui de l'hôte"
        )
    if settings is None:
        missing.append(
            "la base ne garde pas l'empreinte du secret : passez "
            "unit_of_work=base.unit_of_work d'une SqlDatabase, ou settings=SqlSettings(base)"
        )
    return missing


def _incomplete(missing: Sequence[str]) -> ConfigError:
    return ConfigError(
        "configuration de production incomplète : "
        + " ; ".join(missing)
        + " (pour une démonstration seulement : PEPS_DEMO=1)"
    )


def _settings_of(unit_of_work: Callable[[], UnitOfWork]) -> SecretFingerprintStore | None:
    """The SQL database behind ``db.unit_of_work`` (or ``db`` itself) keeps the fingerprint."""
    from .adapters.sql.settings import SqlSettings
    from .adapters.sql.stores import SqlDatabase

    owner = getattr(unit_of_work, "__self__", unit_of_work)
    return SqlSettings(owner) if isinstance(owner, SqlDatabase) else None


def build_from_config(
    config: PlatformConfig,
    *,
    unit_of_work: Callable[[], UnitOfWork],
    directory: ContractDirectory,
    registry: EstablishmentRegistry | None = None,
    captcha: CaptchaVerifier | None = None,
    net_entreprises: NetEntreprisesVerifier | None = None,
    settings: SecretFingerprintStore | None = None,
    demo: bool = False,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    policy: Policy | None = None,
) -> Platform:
    """The platform with the adapters the configuration names, or a :class:`ConfigError`
    that says in French everything to set.

    It fails closed. Unless ``demo`` (or ``config.demo``, ``PEPS_DEMO=1``) says this is
    a demonstration, it refuses in-memory mail, letters, Net-Entreprises and captcha
    (they would swallow what should leave) and a missing ``PEPS_BASE_URL``. On a SQL
    database (``unit_of_work=db.unit_of_work``, or ``settings=SqlSettings(db)``) it
    checks that the database was first used with this secret, or a previous one of
    ``PEPS_PREVIOUS_SECRETS``, and records the current one; with no such store, only a
    demonstration starts.

    ``captcha`` overrides the configured security check (:func:`make_captcha`: the image
    choice, or CaptchEtat). ``net_entreprises`` overrides the configured verifier (a
    process that never verifies credentials passes one that refuses). ``registry`` defaults to INSEE
    Sirene when a key is configured, else to ``directory`` (which must then also be an
    :class:`EstablishmentRegistry`).
    """
    secret = platform_secret(config)
    demo = demo or config.demo
    settings = settings or _settings_of(unit_of_work)
    captcha = captcha or make_captcha(config, clock=clock)
    missing = [] if demo else _missing(config, captcha, net_entreprises, settings)
    if missing:
        raise _incomplete(missing)
    if registry is None and config.sirene_api_key:
        from .adapters.sirene import SireneRegistry, SireneSettings

        registry = SireneRegistry(SireneSettings(api_key=config.sirene_api_key))
    if registry is None:
        if not hasattr(directory, "establishment"):
            raise ConfigError(
                "aucun répertoire des établissements : réglez PEPS_SIRENE_API_KEY "
                "ou passez registry="
            )
        registry = cast(EstablishmentRegistry, directory)
    if settings is not None:
        check_secret(settings, secret)
    return build(
        unit_of_work=unit_of_work,
        registry=registry,
        contracts=directory,
        net_entreprises=net_entreprises or make_net_entreprises(config),
        captcha=captcha,
        mailer=make_mailer(config),
        letters=make_letters(config),
        renderer=make_renderer(config),
        secret=secret,
        clock=clock,
        hasher=hasher,
        policy=policy,
        base_url=config.base_url or DEMO_BASE_URL,
        throttle=LimitsThrottle(config.throttle_url),
    )
