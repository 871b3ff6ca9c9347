"""The State's CaptchEtat service (PISTE), as a :class:`~peps_onboarding.ports.CaptchaVerifier`
of ``kind`` ``"text"`` (rule C1; its sound version for W4).

CaptchEtat's API v2, behind PISTE's OAuth2 (client credentials, scope
``piste.captchetat``):

- ``POST {oauth_url}`` (``grant_type=client_credentials``, ``client_id``,
  ``client_secret``, ``scope``) answers ``{"access_token": …, "expires_in": …}``;
- ``GET {base_url}/simple-captcha-endpoint?get=image&c=<style>`` answers
  ``{"imageb64": "data:image/png;base64,…", "uuid": "…"}``: the characters to type;
- ``GET {base_url}/simple-captcha-endpoint?get=sound&c=<style>&t=<uuid>``: the same
  characters, spoken (WAV);
- ``POST {base_url}/valider-captcha`` with ``{"uuid": …, "code": …}`` answers ``true``
  or ``false``; CaptchEtat itself makes a challenge single use.

The challenge's ``id`` is CaptchEtat's ``uuid``, so that any server process can verify
it; the image, which CaptchEtat gives only once, is kept in this process (bounded, with
expiry) until it is answered, and so is the fact that it was answered. Anything that is
not a clear answer from CaptchEtat (a transport failure, a timeout, 5xx, a refused
token, a body that is not the documented one) raises
:class:`~peps_onboarding.domain.errors.CaptchaUnavailableError`, never a failed check;
the client secret and the bearer token never reach a log.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, NoReturn

import httpx
from attrs import field, frozen

from ...domain.errors import CaptchaUnavailableError
from ...ports import ChallengeMedia, Clock, SecurityChallenge
from ..http_client import is_secure_url, positive, send, tls_verification
from .store import ChallengeStore, now_of

__all__ = ["CaptchEtatSettings", "CaptchEtatVerifier"]

_log = logging.getLogger(__name__)

PRODUCTION_URL: Final = "https://api.piste.gouv.fr/piste/captchetat/v2"
PRODUCTION_OAUTH_URL: Final = "https://oauth.piste.gouv.fr/api/oauth/token"
SANDBOX_URL: Final = "https://sandbox-api.piste.gouv.fr/piste/captchetat/v2"
SANDBOX_OAUTH_URL: Final = "https://sandbox-oauth.piste.gouv.fr/api/oauth/token"

PROMPT: Final = "Saisissez les caractères affichés dans l'image"
SOUND_PROMPT: Final = "Saisissez les caractères que vous entendez"
_SERVICE: Final = "CaptchEtat"
# CaptchEtat's uuid; anything else is never sent upstream.
_UUID: Final = re.compile(r"[A-Za-z0-9-]{8,64}")
# Longer than any CaptchEtat code (at most a dozen characters): refused without a call.
_MAX_CODE: Final = 64
_IMAGE_TYPES: Final = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
_MAX_MEDIA: Final = 2_000_000  # bytes; a bigger "image" or "sound" is not one


@frozen(kw_only=True)
class CaptchEtatSettings:
    """Where CaptchEtat and PISTE's OAuth are, the application's credentials, the style
    of captcha (CaptchEtat's ``c``), and how patient to be.

    The defaults are PISTE's production; :data:`SANDBOX_URL` and
    :data:`SANDBOX_OAUTH_URL` are its sandbox. TLS verification cannot be turned off
    (``ssl_context_factory`` may only add trust); ``transport_factory`` is a seam for
    tests.
    """

    client_id: str
    client_secret: str = field(repr=False)
    base_url: str = field(default=PRODUCTION_URL, validator=is_secure_url)
    oauth_url: str = field(default=PRODUCTION_OAUTH_URL, validator=is_secure_url)
    style: str = "alphanumerique6to9LightCaptchaFR"
    challenge_ttl: timedelta = timedelta(minutes=10)
    capacity: int = field(default=10_000, validator=positive)
    connect_timeout: float = field(default=3.0, validator=positive)
    read_timeout: float = field(default=5.0, validator=positive)
    total_timeout: float = field(default=8.0, validator=positive)
    user_agent: str = "peps-onboarding"
    ssl_context_factory: Callable[[], ssl.SSLContext] | None = field(default=None, repr=False)
    transport_factory: Callable[[], httpx.BaseTransport] | None = field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.client_id.strip() or not self.client_secret.strip():
            raise ValueError("CaptchEtat needs a client_id and a client_secret")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", self.style):
            raise ValueError(f"not a CaptchEtat style: {self.style!r}")


@frozen(kw_only=True)
class _Shown:
    image: bytes
    media_type: str


class CaptchEtatVerifier:
    """Rule C1 through CaptchEtat: see the module for the API and the failure modes.

    ``clock`` (the clock port, or a callable returning an aware datetime) dates the
    challenges; ``monotonic`` (seconds) ages the OAuth token. Both are injectable so
    that tests move time instead of waiting.
    """

    def __init__(
        self,
        settings: CaptchEtatSettings,
        *,
        clock: Clock | Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        tls_verification(settings, _SERVICE)  # a wiring error: fail now
        self.settings = settings
        self._monotonic = monotonic
        self._shown: ChallengeStore[_Shown] = ChallengeStore(
            ttl=settings.challenge_ttl, capacity=settings.capacity, now=now_of(clock)
        )
        self._answered: ChallengeStore[bool] = ChallengeStore(
            ttl=settings.challenge_ttl, capacity=settings.capacity, now=now_of(clock)
        )
        self._token: tuple[str, float] | None = None  # (bearer, monotonic expiry)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CaptchEtatVerifier({self.settings!r})"

    # --- the port ----------------------------------------------------------------------

    def challenge(self) -> SecurityChallenge:
        """Rule C1: a new set of characters from CaptchEtat (renewal is another call)."""
        response = self._call(
            lambda client, headers: client.get(
                self._endpoint("simple-captcha-endpoint"),
                params={"get": "image", "c": self.settings.style},
                headers={**headers, "Accept": "application/json"},
            )
        )
        uuid, image = _image_answer(response)
        expires_at = self._shown.add(uuid, _Shown(image=image, media_type=_image_type(image)))
        return SecurityChallenge(
            id=uuid,
            kind="text",
            prompt=PROMPT,
            choices=(),
            sound_prompt=SOUND_PROMPT,
            expires_at=expires_at,
        )

    def media(self, challenge_id: str, part: str) -> ChallengeMedia | None:
        """``"image"``: the characters as CaptchEtat drew them; ``"son"``: spoken, fetched
        from CaptchEtat. ``None`` for a challenge this process did not show, or that is
        expired or answered."""
        if not isinstance(challenge_id, str) or not isinstance(part, str):
            return None
        shown = self._shown.get(challenge_id)
        if shown is None or self._answered.get(challenge_id) is not None:
            return None
        if part == "image":
            return ChallengeMedia(content=shown.image, media_type=shown.media_type)
        if part != "son":
            return None
        response = self._call(
            lambda client, headers: client.get(
                self._endpoint("simple-captcha-endpoint"),
                params={"get": "sound", "c": self.settings.style, "t": challenge_id},
                headers=headers,
            )
        )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not response.content or len(response.content) > _MAX_MEDIA:
            _unavailable("son vide ou démesuré")
        return ChallengeMedia(
            content=response.content,
            media_type=media_type if media_type.startswith("audio/") else "audio/wav",
        )

    def verify(self, challenge_id: str, response: str) -> bool:
        """Rule C1: CaptchEtat's own verdict on the typed characters; single use here as
        there. Hostile input is refused without a call; an outage raises."""
        if not isinstance(challenge_id, str) or not _UUID.fullmatch(challenge_id):
            return False
        if self._answered.get(challenge_id) is not None:
            return False
        # Used up before anything else, right or wrong, and before the call: a retry
        # after an outage is a reuse too.
        self._answered.add(challenge_id, True)
        self._shown.take(challenge_id)
        code = response.strip() if isinstance(response, str) else ""
        if not code or len(code) > _MAX_CODE or not code.isprintable():
            return False
        answer = self._call(
            lambda client, headers: client.post(
                self._endpoint("valider-captcha"),
                json={"uuid": challenge_id, "code": code},
                headers={**headers, "Accept": "application/json"},
            )
        )
        verdict = answer.text.strip().lower()
        if verdict not in ("true", "false"):
            _unavailable("verdict illisible")
        return verdict == "true"

    # --- HTTP --------------------------------------------------------------------------

    def _endpoint(self, name: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/{name}"

    def _call(
        self, request: Callable[[httpx.Client, dict[str, str]], httpx.Response]
    ) -> httpx.Response:
        """One call with a bearer token; a token CaptchEtat refuses (401) is fetched anew
        once. Anything but a 200 raises ``CaptchaUnavailableError``."""
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self._bearer(renew=attempt > 0)}"}

            def with_token(
                client: httpx.Client, headers: dict[str, str] = headers
            ) -> httpx.Response:
                return request(client, headers)

            response = send(self.settings, _SERVICE, with_token, _log)
            if response is None:
                raise CaptchaUnavailableError()
            if response.status_code == 401 and attempt == 0:
                continue
            if response.status_code != 200:
                _unavailable(f"réponse HTTP {response.status_code}")
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _bearer(self, *, renew: bool) -> str:
        with self._lock:
            if self._token is not None and not renew and self._token[1] > self._monotonic():
                return self._token[0]
            self._token = None
        settings = self.settings
        response = send(
            settings,
            _SERVICE,
            lambda client: client.post(
                settings.oauth_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": settings.client_id,
                    "client_secret": settings.client_secret,
                    "scope": "piste.captchetat",
                },
                headers={"Accept": "application/json"},
            ),
            _log,
        )
        if response is None:
            raise CaptchaUnavailableError()
        if response.status_code != 200:
            _unavailable(f"jeton refusé (HTTP {response.status_code})")
        token, lifetime = _token_answer(response)
        with self._lock:
            # Renewed at half its life: a token never expires between check and use.
            self._token = (token, self._monotonic() + lifetime / 2)
        return token


def _unavailable(reason: str) -> NoReturn:
    # Raised outside any ``except`` block: no httpx error (with its request) rides along.
    _log.warning("%s indisponible : %s", _SERVICE, reason)
    raise CaptchaUnavailableError()


def _token_answer(response: httpx.Response) -> tuple[str, float]:
    try:
        document = response.json()
    except ValueError:
        document = None
    token = document.get("access_token") if isinstance(document, dict) else None
    lifetime = document.get("expires_in", 60) if isinstance(document, dict) else None
    if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
        _unavailable("réponse OAuth illisible")
    return token, max(float(lifetime), 0.0)


def _image_answer(response: httpx.Response) -> tuple[str, bytes]:
    try:
        document = response.json()
    except ValueError:
        document = None
    uuid = document.get("uuid") if isinstance(document, dict) else None
    encoded = document.get("imageb64") if isinstance(document, dict) else None
    image = b""
    if isinstance(encoded, str):
        _, _, data = encoded.rpartition(",")  # "data:image/png;base64,…" or bare base64
        try:
            image = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            image = b""
    if not isinstance(uuid, str) or not _UUID.fullmatch(uuid) or not image:
        _unavailable("image illisible")
    if len(image) > _MAX_MEDIA or _image_type(image) == "":
        _unavailable("image démesurée ou d'un type inconnu")
    return uuid, image


def _image_type(image: bytes) -> str:
    return next((kind for magic, kind in _IMAGE_TYPES.items() if image.startswith(magic)), "")
