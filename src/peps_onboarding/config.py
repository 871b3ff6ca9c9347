"""Settings of the outside adapters, from environment variables or a TOML file.

Precedence: environment variables over the TOML file (``PEPS_CONFIG`` names it) over
the defaults. With no configuration at all, e-mails and letters stay in memory, which
is what tests and the demo want; production sets at least the secret and the mail and
letter back-ends. Secrets (the platform secret, the SMTP password, the Sirene key) are
read from the environment or from files, never written in the TOML itself.
See ``docs/adapters.md`` for every setting. This module only reads and checks them;
:func:`peps_onboarding.bootstrap.build_from_config` builds the adapters they name.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, cast

from attrs import frozen

__all__ = ["DEFAULT_BASE_URL", "ConfigError", "PlatformConfig", "load_config"]

DEFAULT_BASE_URL = "https://plateforme-employeurs.caissedesdepots.fr"

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
