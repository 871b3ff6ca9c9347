"""Settings of the outside adapters, from environment variables or a TOML file.

Precedence: environment variables over the TOML file (``PEPS_CONFIG`` names it) over
the defaults. Secrets (the platform secret and the previous ones, the SMTP password,
the Sirene key) are read from the environment or from files, never written in the TOML
itself. See ``docs/adapters.md`` for every setting.

Nothing defaults to a production value that could be wrong: a production process must
name its links' base (``PEPS_BASE_URL``) and real mail, letter and Net-Entreprises
back-ends. The in-memory ones (which keep everything in the process, so that nothing
ever leaves it) are accepted only when the process says it is a demonstration
(``PEPS_DEMO=1``); :meth:`PlatformConfig.missing_for_production` says what is missing,
in French. This module only reads and checks the settings;
:func:`peps_onboarding.bootstrap.build_from_config` builds the adapters they name.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, cast
from urllib.parse import urlsplit

from attrs import frozen

__all__ = [
    "DEFAULT_BASE_URL",
    "DEMO_BASE_URL",
    "VARIABLES",
    "ConfigError",
    "PlatformConfig",
    "load_config",
]

DEFAULT_BASE_URL = "https://plateforme-employeurs.caissedesdepots.fr"
"""The real platform: ``build()``'s default for hosts that wire by hand, never the
configuration's (a staging host that forgot ``PEPS_BASE_URL`` would mail links to it)."""

DEMO_BASE_URL = "http://localhost:8000"
"""The links' base of a demonstration that names none."""

MailBackend = Literal["memory", "folder", "smtp"]
LettersBackend = Literal["memory", "spool"]

_TRUE = ("1", "true", "yes", "oui", "on")
_FALSE = ("0", "false", "no", "non", "off", "")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message (in French) names it and what to set."""


@frozen(kw_only=True)
class PlatformConfig:
    base_url: str | None = None  # required in production: no default that could be wrong
    secret: bytes | None = None
    previous_secrets: tuple[bytes, ...] = ()  # still verify; the first ``secret`` signs
    demo: bool = False  # PEPS_DEMO: in-memory back-ends accepted, links to DEMO_BASE_URL
    mail_backend: MailBackend = "memory"
    mail_folder: Path = Path("var/courriels")
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    sender_address: str = "ne-pas-repondre@plateforme-employeurs.example"
    html_emails: bool = True
    # M1: where the e-mails' « Découvrez comment nous traitons vos données » leads (the
    # seed gives no address); None: the line names the platform, no link.
    privacy_url: str | None = None
    letters_backend: LettersBackend = "memory"
    letters_folder: Path = Path("var/courriers")
    net_entreprises_environment: str | None = None  # "test" | "production"; None: in memory
    net_entreprises_service_code: str | None = None
    sirene_api_key: str | None = None
    # P1: memory:// counts in this process; redis:// (rediss://) shares the counts
    # between instances. May carry a password: shown masked, never in the TOML file.
    throttle_url: str = "memory://"
    # C1: the security check. Unset: the image choice in this process; a client id and
    # secret: the State's CaptchEtat (PISTE), at these addresses (None: production).
    captchetat_client_id: str | None = None
    captchetat_client_secret: str | None = None
    captchetat_url: str | None = None
    captchetat_oauth_url: str | None = None
    captchetat_style: str | None = None

    def __repr__(self) -> str:  # secrets stay out of logs
        return (
            f"PlatformConfig(base_url={self.base_url!r}, demo={self.demo}, "
            f"mail={self.mail_backend}, letters={self.letters_backend}, "
            f"net_entreprises={self.net_entreprises_environment}, "
            f"sirene={'on' if self.sirene_api_key else 'off'}, "
            f"previous_secrets={len(self.previous_secrets)}, "
            f"captcha={'captchetat' if self.captchetat_client_id else 'images'}, "
            f"throttle={_masked(self.throttle_url)})"
        )

    def missing_for_production(self, *, net_entreprises: bool = True) -> tuple[str, ...]:
        """What a production process lacks, one French sentence each (empty: nothing).

        ``net_entreprises=False`` for a process that never calls Net-Entreprises (the
        worker)."""
        missing = []
        if self.base_url is None:
            missing.append(
                "PEPS_BASE_URL n'est pas réglé : donnez l'adresse publique de la "
                "plateforme, celle des liens envoyés (par exemple https://peps.exemple.fr)"
            )
        if self.mail_backend == "memory":
            missing.append(
                "les courriels resteraient en mémoire : réglez PEPS_MAIL_BACKEND=smtp (ou folder)"
            )
        if self.letters_backend == "memory":
            missing.append(
                "les courriers resteraient en mémoire : réglez PEPS_LETTERS_BACKEND=spool"
            )
        if net_entreprises and self.net_entreprises_environment is None:
            missing.append(
                "Net-Entreprises serait simulé en mémoire : réglez "
                "PEPS_NET_ENTREPRISES_ENV=production (ou test)"
            )
        return tuple(missing)


_ENV = {
    "PEPS_BASE_URL": ("platform", "base_url"),
    "PEPS_DEMO": ("platform", "demo"),
    "PEPS_MAIL_BACKEND": ("mail", "backend"),
    "PEPS_MAIL_FOLDER": ("mail", "folder"),
    "PEPS_SMTP_HOST": ("mail", "host"),
    "PEPS_SMTP_PORT": ("mail", "port"),
    "PEPS_SMTP_SECURITY": ("mail", "security"),
    "PEPS_SMTP_USERNAME": ("mail", "username"),
    "PEPS_MAIL_SENDER": ("mail", "sender"),
    "PEPS_MAIL_HTML": ("mail", "html"),
    "PEPS_PRIVACY_URL": ("mail", "privacy_url"),
    "PEPS_LETTERS_BACKEND": ("letters", "backend"),
    "PEPS_LETTERS_FOLDER": ("letters", "folder"),
    "PEPS_NET_ENTREPRISES_ENV": ("net_entreprises", "environment"),
    "PEPS_NET_ENTREPRISES_SERVICE_CODE": ("net_entreprises", "service_code"),
    "PEPS_THROTTLE_URL": ("throttle", "url"),
    "PEPS_CAPTCHETAT_CLIENT_ID": ("captchetat", "client_id"),
    "PEPS_CAPTCHETAT_URL": ("captchetat", "url"),
    "PEPS_CAPTCHETAT_OAUTH_URL": ("captchetat", "oauth_url"),
    "PEPS_CAPTCHETAT_STYLE": ("captchetat", "style"),
}


VARIABLES = (
    "PEPS_CONFIG",
    "PEPS_SECRET",
    "PEPS_SECRET_FILE",
    "PEPS_PREVIOUS_SECRETS",
    "PEPS_PREVIOUS_SECRETS_FILE",
    *_ENV,
    "PEPS_SMTP_PASSWORD",
    "PEPS_SMTP_PASSWORD_FILE",
    "PEPS_SIRENE_API_KEY",
    "PEPS_SIRENE_API_KEY_FILE",
    "PEPS_CAPTCHETAT_CLIENT_SECRET",
    "PEPS_CAPTCHETAT_CLIENT_SECRET_FILE",
)
"""Every environment variable :func:`load_config` reads."""


def load_config(environ: Mapping[str, str] | None = None) -> PlatformConfig:
    """Reads ``PEPS_CONFIG`` (a TOML file), then the ``PEPS_*`` environment variables."""
    env = os.environ if environ is None else environ
    tables: dict[str, dict[str, object]] = {}
    if env.get("PEPS_CONFIG"):
        path = Path(env["PEPS_CONFIG"])
        try:
            loaded = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError(
                f"PEPS_CONFIG : impossible de lire {path} ({error.strerror})"
            ) from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"PEPS_CONFIG : {path} n'est pas un TOML valide ({error})") from None
        for name, table in loaded.items():
            if not isinstance(table, dict):
                raise ConfigError(f"PEPS_CONFIG : [{name}] doit être une table TOML")
            tables[name] = dict(table)
    for variable, (table, key) in _ENV.items():
        if variable in env:
            tables.setdefault(table, {})[key] = env[variable]

    def get(table: str, key: str) -> str | None:
        value = tables.get(table, {}).get(key)
        if isinstance(value, bool):
            return "true" if value else "false"
        return None if value is None else str(value)

    def secret_from(variable: str, file_variable: str) -> str | None:
        if env.get(variable):
            return env[variable]
        if env.get(file_variable):
            try:
                return Path(env[file_variable]).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError(
                    f"{file_variable} : impossible de lire {env[file_variable]} ({error.strerror})"
                ) from None
        return None

    def flag(table: str, key: str, variable: str, default: bool) -> bool:
        value = (get(table, key) or ("true" if default else "false")).strip().lower()
        if value not in _TRUE + _FALSE:
            raise ConfigError(f"{variable} doit valoir 1 ou 0 (true ou false), pas {value!r}")
        return value in _TRUE

    secret_text = secret_from("PEPS_SECRET", "PEPS_SECRET_FILE")
    secret = None if secret_text is None else _secret("PEPS_SECRET", secret_text)
    previous_text = secret_from("PEPS_PREVIOUS_SECRETS", "PEPS_PREVIOUS_SECRETS_FILE") or ""
    previous = tuple(
        _secret("PEPS_PREVIOUS_SECRETS", part)
        for part in re.split(r"[,\s]+", previous_text)  # comma-separated, or one a line
        if part
    )
    if previous and secret is None:
        raise ConfigError("PEPS_PREVIOUS_SECRETS sans PEPS_SECRET : réglez aussi PEPS_SECRET")
    mail_backend = get("mail", "backend") or "memory"
    if mail_backend not in ("memory", "folder", "smtp"):
        raise ConfigError(
            f"PEPS_MAIL_BACKEND doit valoir smtp, folder ou memory, pas {mail_backend!r}"
        )
    letters_backend = get("letters", "backend") or "memory"
    if letters_backend not in ("memory", "spool"):
        raise ConfigError(
            f"PEPS_LETTERS_BACKEND doit valoir spool ou memory, pas {letters_backend!r}"
        )
    port = get("mail", "port") or "587"
    if not (port.isascii() and port.isdigit()):  # E1: « ５８７ » and « ² » are no port
        raise ConfigError(f"PEPS_SMTP_PORT doit être un nombre, pas {port!r}")
    environment = get("net_entreprises", "environment") or None
    if environment not in (None, "test", "production"):
        raise ConfigError(
            f"PEPS_NET_ENTREPRISES_ENV doit valoir production ou test, pas {environment!r}"
        )
    privacy_url = get("mail", "privacy_url") or None
    if privacy_url is not None:
        privacy_url = _web_address("PEPS_PRIVACY_URL", privacy_url)
    base_url = get("platform", "base_url") or None
    if base_url is not None:
        base_url = _base_url(base_url)
    throttle_url = _throttle_url(
        get("throttle", "url") or "memory://", from_file="PEPS_THROTTLE_URL" not in env
    )
    captchetat_id = get("captchetat", "client_id") or None
    captchetat_secret = secret_from(
        "PEPS_CAPTCHETAT_CLIENT_SECRET", "PEPS_CAPTCHETAT_CLIENT_SECRET_FILE"
    )
    captchetat_urls = {
        variable: _service_url(variable, text)
        for variable, key in (
            ("PEPS_CAPTCHETAT_URL", "url"),
            ("PEPS_CAPTCHETAT_OAUTH_URL", "oauth_url"),
        )
        if (text := get("captchetat", key))
    }
    captchetat_style = get("captchetat", "style") or None
    if (captchetat_id is None) != (captchetat_secret is None):
        raise ConfigError(
            "CaptchEtat demande PEPS_CAPTCHETAT_CLIENT_ID et PEPS_CAPTCHETAT_CLIENT_SECRET "
            "(ou PEPS_CAPTCHETAT_CLIENT_SECRET_FILE) ensemble : réglez les deux, ou aucun "
            "pour le contrôle par images"
        )
    if captchetat_id is None and (captchetat_urls or captchetat_style):
        raise ConfigError(
            "PEPS_CAPTCHETAT_URL, PEPS_CAPTCHETAT_OAUTH_URL ou PEPS_CAPTCHETAT_STYLE sans "
            "identifiants : réglez aussi PEPS_CAPTCHETAT_CLIENT_ID et "
            "PEPS_CAPTCHETAT_CLIENT_SECRET"
        )
    if captchetat_style is not None and not re.fullmatch(r"[A-Za-z0-9_]{1,64}", captchetat_style):
        raise ConfigError(
            "PEPS_CAPTCHETAT_STYLE doit être un nom de style CaptchEtat (lettres et "
            f"chiffres), pas {captchetat_style!r}"
        )
    defaults = PlatformConfig()
    return PlatformConfig(
        base_url=base_url,
        secret=secret,
        previous_secrets=previous,
        demo=flag("platform", "demo", "PEPS_DEMO", False),
        mail_backend=cast(MailBackend, mail_backend),
        mail_folder=Path(get("mail", "folder") or defaults.mail_folder),
        smtp_host=get("mail", "host") or defaults.smtp_host,
        smtp_port=int(port),
        smtp_security=get("mail", "security") or defaults.smtp_security,
        smtp_username=get("mail", "username"),
        smtp_password=secret_from("PEPS_SMTP_PASSWORD", "PEPS_SMTP_PASSWORD_FILE"),
        sender_address=get("mail", "sender") or defaults.sender_address,
        html_emails=flag("mail", "html", "PEPS_MAIL_HTML", True),
        privacy_url=privacy_url,
        letters_backend=cast(LettersBackend, letters_backend),
        letters_folder=Path(get("letters", "folder") or defaults.letters_folder),
        net_entreprises_environment=environment,
        net_entreprises_service_code=get("net_entreprises", "service_code"),
        sirene_api_key=secret_from("PEPS_SIRENE_API_KEY", "PEPS_SIRENE_API_KEY_FILE"),
        throttle_url=throttle_url,
        captchetat_client_id=captchetat_id,
        captchetat_client_secret=captchetat_secret,
        captchetat_url=captchetat_urls.get("PEPS_CAPTCHETAT_URL"),
        captchetat_oauth_url=captchetat_urls.get("PEPS_CAPTCHETAT_OAUTH_URL"),
        captchetat_style=captchetat_style,
    )


def _secret(variable: str, text: str) -> bytes:
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigError(f"{variable} doit être en hexadécimal (64 caractères ou plus)") from None
    if len(secret) < 32:
        raise ConfigError(
            f"{variable} doit contenir au moins 32 octets (64 caractères hexadécimaux)"
        )
    return secret


def _web_address(variable: str, text: str) -> str:
    """An absolute http(s) address a person may follow from an e-mail."""
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{variable} doit être une adresse https://…, pas {text!r}")
    return url


def _service_url(variable: str, text: str) -> str:
    """An outside service's address: https, or http towards this machine only (tests)."""
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise ConfigError(f"{variable} doit être une adresse https:// complète, pas {text!r}")
    return url


def _base_url(text: str) -> str:
    """An absolute https URL (http only towards this machine), without a trailing slash."""
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if (
        not parts.hostname
        or parts.scheme not in ("https", "http")
        or (parts.scheme == "http" and not local)
    ):
        raise ConfigError(f"PEPS_BASE_URL doit être une adresse https:// complète, pas {text!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"PEPS_BASE_URL ne doit contenir ni « ? » ni « # » : {text!r}")
    return url


def _masked(url: str) -> str:
    from .adapters.throttling import mask_throttle_url

    return mask_throttle_url(url)


def _throttle_url(text: str, *, from_file: bool) -> str:
    """Rule P1's storage: memory://, or a Redis with a host (redis://, rediss:// for TLS)."""
    url = text.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not one
        host, password = parts.hostname, parts.password
    except ValueError:  # a malformed port or address
        parts, host, password = None, None, None
    scheme = parts.scheme if parts is not None else ""
    if scheme != "memory" and (scheme not in ("redis", "rediss") or not host):
        raise ConfigError(
            "PEPS_THROTTLE_URL doit valoir memory:// ou une adresse redis://hôte:port/base "
            f"(rediss:// pour TLS), pas {_masked(url)!r}"
        )
    if from_file and password:
        raise ConfigError(
            "PEPS_CONFIG : le mot de passe de Redis ne s'écrit pas dans le fichier ; "
            "donnez l'adresse complète dans la variable PEPS_THROTTLE_URL"
        )
    return url
