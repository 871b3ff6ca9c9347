"""Configuration of the outside adapters, from environment variables or a TOML file.

Precedence: environment variables over the TOML file (``PEPS_CONFIG`` names it) over
the defaults. With no configuration at all, e-mails and letters stay in memory, which
is what tests and the demo want; production sets at least the secret and the mail and
letter back-ends. Secrets (the platform secret, the SMTP password, the Sirene key) are
read from the environment or from files, never written in the TOML itself.
See ``docs/adapters.md`` for every setting.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, cast

from attrs import frozen

from .application.platform import Platform
from .bootstrap import DEFAULT_BASE_URL, build
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
    UnitOfWork,
)

__all__ = ["ConfigError", "PlatformConfig", "build_from_config", "load_config"]

MailBackend = Literal["memory", "folder", "smtp"]
LettersBackend = Literal["memory", "spool"]


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it."""


@frozen(kw_only=True)
class PlatformConfig:
    base_url: str = DEFAULT_BASE_URL
    secret: bytes | None = None
    mail_backend: MailBackend = "memory"
    mail_folder: Path = Path("var/courriels")
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    sender_address: str = "ne-pas-repondre@plateforme-employeurs.example"
    html_emails: bool = True
    letters_backend: LettersBackend = "memory"
    letters_folder: Path = Path("var/courriers")
    net_entreprises_environment: str | None = None  # "test" | "production"; None: in memory
    net_entreprises_service_code: str | None = None
    sirene_api_key: str | None = None

    def __repr__(self) -> str:  # secrets stay out of logs
        return (
            f"PlatformConfig(base_url={self.base_url!r}, mail={self.mail_backend}, "
            f"letters={self.letters_backend}, net_entreprises={self.net_entreprises_environment}, "
            f"sirene={'on' if self.sirene_api_key else 'off'})"
        )


_ENV = {
    "PEPS_BASE_URL": ("platform", "base_url"),
    "PEPS_MAIL_BACKEND": ("mail", "backend"),
    "PEPS_MAIL_FOLDER": ("mail", "folder"),
    "PEPS_SMTP_HOST": ("mail", "host"),
    "PEPS_SMTP_PORT": ("mail", "port"),
    "PEPS_SMTP_SECURITY": ("mail", "security"),
    "PEPS_SMTP_USERNAME": ("mail", "username"),
    "PEPS_MAIL_SENDER": ("mail", "sender"),
    "PEPS_MAIL_HTML": ("mail", "html"),
    "PEPS_LETTERS_BACKEND": ("letters", "backend"),
    "PEPS_LETTERS_FOLDER": ("letters", "folder"),
    "PEPS_NET_ENTREPRISES_ENV": ("net_entreprises", "environment"),
    "PEPS_NET_ENTREPRISES_SERVICE_CODE": ("net_entreprises", "service_code"),
}


def load_config(environ: Mapping[str, str] | None = None) -> PlatformConfig:
    """Reads ``PEPS_CONFIG`` (a TOML file), then the ``PEPS_*`` environment variables."""
    env = os.environ if environ is None else environ
    tables: dict[str, dict[str, object]] = {}
    if env.get("PEPS_CONFIG"):
        path = Path(env["PEPS_CONFIG"])
        try:
            loaded = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"PEPS_CONFIG: cannot read {path}: {error}") from None
        for name, table in loaded.items():
            if not isinstance(table, dict):
                raise ConfigError(f"PEPS_CONFIG: [{name}] must be a table")
            tables[name] = dict(table)
    for variable, (table, key) in _ENV.items():
        if variable in env:
            tables.setdefault(table, {})[key] = env[variable]

    def get(table: str, key: str) -> str | None:
        value = tables.get(table, {}).get(key)
        return None if value is None else str(value)

    def secret_from(variable: str, file_variable: str) -> str | None:
        if env.get(variable):
            return env[variable]
        if env.get(file_variable):
            try:
                return Path(env[file_variable]).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError(f"{file_variable}: {error.strerror}") from None
        return None

    secret_text = secret_from("PEPS_SECRET", "PEPS_SECRET_FILE")
    secret = None
    if secret_text is not None:
        try:
            secret = bytes.fromhex(secret_text)
        except ValueError:
            raise ConfigError("PEPS_SECRET must be hexadecimal (64 characters or more)") from None
        if len(secret) < 32:
            raise ConfigError("PEPS_SECRET must hold at least 32 bytes (64 hex characters)")
    mail_backend = get("mail", "backend") or "memory"
    if mail_backend not in ("memory", "folder", "smtp"):
        raise ConfigError("mail backend must be memory, folder or smtp")
    letters_backend = get("letters", "backend") or "memory"
    if letters_backend not in ("memory", "spool"):
        raise ConfigError("letters backend must be memory or spool")
    port = get("mail", "port") or "587"
    if not port.isdigit():
        raise ConfigError("PEPS_SMTP_PORT must be a number")
    defaults = PlatformConfig()
    return PlatformConfig(
        base_url=get("platform", "base_url") or defaults.base_url,
        secret=secret,
        mail_backend=cast(MailBackend, mail_backend),
        mail_folder=Path(get("mail", "folder") or defaults.mail_folder),
        smtp_host=get("mail", "host") or defaults.smtp_host,
        smtp_port=int(port),
        smtp_security=get("mail", "security") or defaults.smtp_security,
        smtp_username=get("mail", "username"),
        smtp_password=secret_from("PEPS_SMTP_PASSWORD", "PEPS_SMTP_PASSWORD_FILE"),
        sender_address=get("mail", "sender") or defaults.sender_address,
        html_emails=(get("mail", "html") or "true").lower() in ("1", "true", "yes", "oui"),
        letters_backend=cast(LettersBackend, letters_backend),
        letters_folder=Path(get("letters", "folder") or defaults.letters_folder),
        net_entreprises_environment=get("net_entreprises", "environment"),
        net_entreprises_service_code=get("net_entreprises", "service_code"),
        sirene_api_key=secret_from("PEPS_SIRENE_API_KEY", "PEPS_SIRENE_API_KEY_FILE"),
    )


def make_mailer(config: PlatformConfig) -> Mailer:
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
    from .adapters.memory import InMemoryMailer

    return InMemoryMailer()


def make_letters(config: PlatformConfig) -> LetterSender:
    if config.letters_backend == "spool":
        from .adapters.pdf_letters import SpoolLetterSender

        return SpoolLetterSender(config.letters_folder)
    from .adapters.memory import InMemoryLetterSender

    return InMemoryLetterSender()


def make_renderer(config: PlatformConfig) -> EmailRenderer:
    if config.html_emails:
        from .adapters.jinja_emails import JinjaEmailRenderer

        return JinjaEmailRenderer()
    from .application.rendering import PlainTextEmailRenderer

    return PlainTextEmailRenderer()


def make_net_entreprises(config: PlatformConfig) -> NetEntreprisesVerifier:
    if config.net_entreprises_environment is None:
        from .adapters.memory import InMemoryNetEntreprisesVerifier

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
        from attrs import evolve

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
