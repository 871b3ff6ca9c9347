"""What the HTTP adapters (Net-Entreprises, Sirene) share: settings validators, a client
that always verifies TLS, and one way to turn a transport failure into "no answer"."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Final, Literal, Protocol
from urllib.parse import urlsplit

import httpx

__all__ = ["HttpSettings", "is_secure_url", "open_client", "positive", "send", "tls_verification"]

_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})


def is_secure_url(_instance: object, _attribute: object, value: str) -> None:
    """Credentials cross this URL: HTTPS, or plain HTTP to this machine only (tests)."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return
    raise ValueError(f"base_url must be an https:// URL, got {value!r}")


def positive(_instance: object, attribute: object, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{getattr(attribute, 'name', 'value')} must be positive")


class HttpSettings(Protocol):
    """The settings both HTTP adapters carry."""

    @property
    def base_url(self) -> str: ...
    @property
    def connect_timeout(self) -> float: ...
    @property
    def read_timeout(self) -> float: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def ssl_context_factory(self) -> Callable[[], ssl.SSLContext] | None: ...
    @property
    def transport_factory(self) -> Callable[[], httpx.BaseTransport] | None: ...


def tls_verification(settings: HttpSettings, service: str) -> ssl.SSLContext | Literal[True]:
    """httpx's ``verify``: its default (certifi, host name checked), or the host's context,
    which must verify too: a context that does not is a wiring error."""
    factory = settings.ssl_context_factory
    if factory is None:
        return True
    context = factory()
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise ValueError(f"the {service} TLS context must verify certificates")
    return context


def open_client(settings: HttpSettings, service: str) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        verify=tls_verification(settings, service),
        transport=settings.transport_factory() if settings.transport_factory else None,
        headers={"User-Agent": settings.user_agent},
        follow_redirects=False,  # a redirect (maintenance page) is not an answer
    )


def send(
    settings: HttpSettings,
    service: str,
    request: Callable[[httpx.Client], httpx.Response],
    log: logging.Logger,
) -> httpx.Response | None:
    """The answer, or ``None`` when there was none: the reason is logged (never a
    credential, never the request), not raised."""
    failure: str
    try:
        with open_client(settings, service) as client:
            return request(client)
    except httpx.TimeoutException:
        failure = "délai dépassé"
    except httpx.HTTPError as error:
        failure = type(error).__name__
    log.warning("%s injoignable (%s): %s", service, settings.base_url, failure)
    return None
