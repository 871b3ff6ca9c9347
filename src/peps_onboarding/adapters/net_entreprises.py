"""The production :class:`~peps_onboarding.ports.NetEntreprisesVerifier`: Net-Entreprises' API.

Speaks the authentication service of GIP-MDS's « Guide d'implémentation de l'API DSN »
(section 3.1): an XML ``<identifiants>`` document posted to ``/authentifier/1.0/``;
Net-Entreprises answers 200 with a token in the body (its expiry in ``Expires``), or
refuses with a status code and, for 401, a ``WWW-Authenticate`` realm that says why.

Rule N1 shapes every branch: a refusal never says which field was wrong, and anything
that is not a clear answer from Net-Entreprises (timeouts, 5xx, 429, a body that is not
a token) is "unavailable", never "wrong credentials". The password lives only in the
local variables of one call: it is never stored, logged, or quoted in an exception,
and exceptions are raised outside ``except`` blocks so that no chained httpx error (whose
request holds the body) travels with them.
"""

from __future__ import annotations

import logging
import re
import ssl
import unicodedata
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Final, Literal
from xml.etree import ElementTree

import httpx
from attrs import field, frozen, validators

from ..domain.errors import (
    NetEntreprisesAccountBlockedError,
    NetEntreprisesNotRegisteredError,
    NetEntreprisesPasswordExpiredError,
    NetEntreprisesRefusedError,
    NetEntreprisesUnavailableError,
    OnboardingError,
)
from ..domain.values import Siret
from ..ports import NetEntreprisesIdentity
from .http_client import is_secure_url, positive, send, tls_verification

__all__ = [
    "HttpNetEntreprisesVerifier",
    "NetEntreprisesEnvironment",
    "NetEntreprisesSettings",
]

_log = logging.getLogger(__name__)

NetEntreprisesEnvironment = Literal["test", "production"]

# Section 10 of the guide (address table) and 3.1.1 (service codes). The codes are the
# DSN's (25 in production, 97 on the publishers' test environment): a host registered
# for another Net-Entreprises service passes its own code.
_BASE_URLS: Final[dict[str, str]] = {
    "test": "https://test-services.net-entreprises.fr",
    "production": "https://services.net-entreprises.fr",
}
_SERVICE_CODES: Final[dict[str, str]] = {"test": "97", "production": "25"}
_AUTHENTICATION_PATH: Final = "/authentifier/1.0/"

# Longer input cannot be a Net-Entreprises credential; refusing it costs no call.
_MAX_FIELD_LENGTH: Final = 256
# XML 1.0 forbids most control characters, and none belongs in a name or password.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# The token is opaque; this only tells it from an HTML maintenance page served with 200.
_TOKEN: Final = re.compile(r"[A-Za-z0-9._~+/=-]{16,4096}")
_REALM: Final = re.compile(r'realm="([^"]*)"', re.IGNORECASE)


@frozen(kw_only=True)
class NetEntreprisesSettings:
    """Where and how to reach Net-Entreprises.

    ``environment`` picks the base URL and the service code; both can be overridden
    (another service, a local test server). TLS verification cannot be turned off:
    ``ssl_context_factory`` exists so a host can trust a private CA, and the context it
    makes must still verify certificates and host names. ``transport_factory`` is a
    seam for tests (``httpx.MockTransport``); production code leaves it unset.

    ``connect_timeout`` and ``read_timeout`` bound each phase; ``total_timeout`` bounds
    the whole call (a person is waiting on the sign-in screen), so an answer trickled
    byte by byte is cut off there and counts as « indisponible ». Its default is the sum
    of the other two: no well-behaved answer that arrives today is cut.
    """

    environment: NetEntreprisesEnvironment = field(
        default="production", validator=validators.in_(("test", "production"))
    )
    base_url: str = field(validator=is_secure_url)
    service_code: str = field(validator=validators.matches_re(r"[0-9]{1,4}"))
    connect_timeout: float = field(default=5.0, validator=positive)
    read_timeout: float = field(default=15.0, validator=positive)
    total_timeout: float = field(default=20.0, validator=positive)
    user_agent: str = "peps-onboarding"
    ssl_context_factory: Callable[[], ssl.SSLContext] | None = field(default=None, repr=False)
    transport_factory: Callable[[], httpx.BaseTransport] | None = field(default=None, repr=False)

    @base_url.default
    def _default_base_url(self) -> str:
        return _BASE_URLS[self.environment]

    @service_code.default
    def _default_service_code(self) -> str:
        return _SERVICE_CODES[self.environment]

    @property
    def authentication_url(self) -> str:
        return self.base_url.rstrip("/") + _AUTHENTICATION_PATH


@frozen
class HttpNetEntreprisesVerifier:
    """Checks Net-Entreprises credentials (rule N1) with one HTTPS call per sign-in.

    A fresh ``httpx.Client`` per call: sign-ins are rare, and a client that lives no
    longer than the call leaves nothing to close and no pooled connection to go stale.
    The token Net-Entreprises returns is checked, then dropped: PEP's calls no other
    Net-Entreprises service, and a bearer token kept in memory is only a thing to leak.
    """

    settings: NetEntreprisesSettings = field(factory=NetEntreprisesSettings)

    def __attrs_post_init__(self) -> None:
        tls_verification(self.settings, "Net-Entreprises")  # a wiring error: fail now

    def verify(
        self, *, siret: Siret, last_name: str, first_name: str, password: str
    ) -> NetEntreprisesIdentity:
        """Rule N1: the identity Net-Entreprises vouches for, or a typed refusal.

        Raises ``NetEntreprisesRefusedError`` (never saying which field),
        ``NetEntreprisesAccountBlockedError``, ``NetEntreprisesPasswordExpiredError``,
        ``NetEntreprisesNotRegisteredError``, or ``NetEntreprisesUnavailableError`` when
        Net-Entreprises gave no clear answer.
        """
        if not all(_sendable(text) for text in (last_name, first_name, password)):
            # Such input matches no account: answer as Net-Entreprises would (422).
            _log.info("Net-Entreprises: identifiants inutilisables pour le SIRET %s", siret)
            raise NetEntreprisesRefusedError()
        response = self._post(
            _credentials_document(
                siret=siret.value,
                last_name=last_name,
                first_name=first_name,
                password=password,
                service_code=self.settings.service_code,
            )
        )
        if response is None:
            raise NetEntreprisesUnavailableError()
        error = _refusal(response)
        if error is not None:
            _log.info(
                "Net-Entreprises: refus %s (HTTP %s) pour le SIRET %s",
                error.code,
                response.status_code,
                siret,
            )
            raise error
        return NetEntreprisesIdentity(siret=siret, last_name=last_name, first_name=first_name)

    def _post(self, body: bytes) -> httpx.Response | None:
        """The answer, or ``None`` when there was none (the reason is logged, not raised)."""
        url = self.settings.authentication_url
        headers = {"Content-Type": "application/xml", "Accept": "*/*"}
        return send(
            self.settings,
            "Net-Entreprises",
            lambda client: client.post(url, content=body, headers=headers),
            _log,
        )


def _sendable(text: str) -> bool:
    return 0 < len(text) <= _MAX_FIELD_LENGTH and not _CONTROL.search(text)


def _credentials_document(
    *, siret: str, last_name: str, first_name: str, password: str, service_code: str
) -> bytes:
    """The ``<identifiants>`` document of section 3.1.1, every value escaped by ElementTree.

    UTF-8 without an XML declaration, as in the guide's example (UTF-8 is XML's default).
    """
    root = ElementTree.Element("identifiants")
    for tag, text in (
        ("siret", siret),
        ("nom", last_name),
        ("prenom", first_name),
        ("motdepasse", password),
        ("service", service_code),
    ):
        ElementTree.SubElement(root, tag).text = text
    document: bytes = ElementTree.tostring(root, encoding="utf-8")
    return document


def _refusal(response: httpx.Response) -> OnboardingError | None:
    """Sections 9.1.1 and 9.1.6 of the guide: what each status means for rule N1."""
    status = response.status_code
    if status == 200:
        return None if _is_token_answer(response) else _unavailable("réponse 200 illisible")
    if status == 401:
        return _refusal_from_realm(response.headers.get_list("WWW-Authenticate"))
    if status == 403:
        return NetEntreprisesAccountBlockedError()
    if status == 422:
        # Net-Entreprises' own form check failed; which field stays unsaid (N1).
        return NetEntreprisesRefusedError()
    return _unavailable(f"HTTP {status}")


def _refusal_from_realm(challenges: list[str]) -> OnboardingError:
    realms = " ".join(
        match.group(1) for challenge in challenges for match in _REALM.finditer(challenge)
    )
    folded = _fold(realms)
    if "expiration du mot de passe" in folded:
        return NetEntreprisesPasswordExpiredError()
    if "non-inscrit" in folded or "non inscrit" in folded:
        return NetEntreprisesNotRegisteredError()
    if "jeton" in folded:
        # « Jeton manquant ou invalide » belongs to the business services: the URL is
        # wrong, which is our fault, not the person's credentials.
        return _unavailable("realm de jeton sur le service d'authentification")
    # Basic realm="net-entreprises.fr": unknown account or wrong password.
    return NetEntreprisesRefusedError()


def _is_token_answer(response: httpx.Response) -> bool:
    if not _TOKEN.fullmatch(response.text.strip()):
        return False
    expires = response.headers.get("Expires")
    if expires is None:
        return True
    try:
        parsedate_to_datetime(expires)
    except (TypeError, ValueError):
        return False
    return True


def _unavailable(reason: str) -> NetEntreprisesUnavailableError:
    _log.warning("Net-Entreprises: réponse inexploitable (%s)", reason)
    return NetEntreprisesUnavailableError()


def _fold(text: str) -> str:
    """Accents and case removed, so a realm matches whatever its encoding on arrival."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
