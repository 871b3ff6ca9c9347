"""What a host decides about the screens: the session's secret and cookie, which proxies
tell the client's address, where the help and legal pages are."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from attrs import field, frozen

from ..config import ConfigError

__all__ = ["WebSettings"]

#: Below this, a signing key can be brute-forced offline from one cookie.
MINIMUM_SECRET_LENGTH = 32


def _networks(
    values: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(value, strict=False) for value in values)
    except ValueError as error:
        raise ConfigError(f"WebSettings.trusted_proxies : {error}") from None


@frozen(kw_only=True)
class WebSettings:
    """Rule W3. ``secret_key`` signs the session cookie (at least 32 characters; keep it
    out of the code). ``secure_cookies`` must stay on behind HTTPS and is only turned
    off for a plain-HTTP localhost demo or test. ``trusted_proxies``: the addresses (or
    networks) of the reverse proxies whose ``X-Forwarded-For`` is believed for the
    per-source limits of P1; with none, the TCP peer is the client."""

    secret_key: str = field(repr=False)
    secure_cookies: bool = True
    cookie_name: str = "peps_session"
    #: A signed-in person idle for this long is signed out (RGAA 2.2: the page says when,
    #: and « Prolonger ma session » extends it).
    session_idle: timedelta = timedelta(minutes=30)
    trusted_proxies: tuple[str, ...] = ()
    #: Where « Conditions Générales d'Utilisation », the personal-data page and « Aide à la
    #: connexion » lead; None shows the words without a link (a demo must never point at
    #: the real platform).
    terms_url: str | None = None
    privacy_url: str | None = None
    help_url: str | None = None
    #: Template folders searched before the package's own, to override pages or partials
    #: by name (``peps/partials/field.html``…).
    template_dirs: tuple[str, ...] = ()
    #: Who may frame the pages (CSP frame-ancestors); none by default.
    frame_ancestors: tuple[str, ...] = ()
    #: How many password hashes or checks run at once (None: one per core), so that a
    #: burst of logins never takes every thread from the pages (bench/web.py).
    hashing_threads: int | None = None
    #: A demonstration's controls (move the clock, read the e-mails); never in production.
    demo: bool = False

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.secret_key, str) or len(self.secret_key) < MINIMUM_SECRET_LENGTH:
            raise ConfigError(
                f"WebSettings.secret_key : au moins {MINIMUM_SECRET_LENGTH} caractères, "
                "gardés hors du code"
            )
        if self.session_idle <= timedelta(0):
            raise ConfigError("WebSettings.session_idle : une durée positive")
        _networks(self.trusted_proxies)

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.trusted_proxies)
