"""An :class:`~peps_onboarding.ports.EstablishmentRegistry` backed by INSEE's Sirene API 3.11.

``GET {base_url}/siret/{siret}`` with the integration key in
``X-INSEE-Api-Key-Integration``. Rule N2 needs three things from the answer: the
désignation, the legal category and whether the establishment is open; rule E4 reads
the last two (an establishment « fermé » or a legal unit « cessée » is never enrolled).

The port's contract decides the failure modes: 404 is an unknown SIRET (``None``);
anything that does not let us tell — 429 after one polite retry, 5xx, timeouts, a body
that is not the documented JSON — is a ``DirectoryUnavailableError``, so that a
registry outage is never mistaken for an ineligible establishment.

Sirene's public plan allows 30 requests a minute, and the same SIRET is looked up
several times in one sign-in flow: answers (and 404s) are cached for a short while,
errors never.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final

import httpx
from attrs import field, frozen

from ..domain.errors import DirectoryUnavailableError
from ..domain.establishment import Establishment
from ..domain.values import (
    ADDRESS_LINE_MAX_LENGTH,
    CITY_MAX_LENGTH,
    LegalCategory,
    PostalAddress,
    PostalCode,
    Siret,
    TextLine,
)
from .http_client import is_secure_url, positive, send, tls_verification

__all__ = ["SireneRegistry", "SireneSettings"]

_log = logging.getLogger(__name__)

_DEFAULT_BASE_URL: Final = "https://api.insee.fr/api-sirene/3.11"
_KEY_HEADER: Final = "X-INSEE-Api-Key-Integration"
# The French postal standard: 38 characters a line. A voie type is spelled out only
# within it; the letter lays longer lines out itself (C4, domain.postal).
_LINE_LENGTH: Final = 38
# What Sirene prints in place of the data of a unit that is not publicly disseminated.
_NOT_DISSEMINATED: Final = "[ND]"
# ASCII digits only (rule E1): ``\d`` would take the digits of any script.
_CATEGORY: Final = re.compile(r"[0-9]{4}")
_POSTAL_CODE: Final = re.compile(r"[0-9]{5}")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Sirene's street types (typeVoieEtablissement) that are worth spelling out. Others are
# kept as given; the expansion is dropped when the line would exceed 38 characters,
# which is why the postal standard has abbreviations in the first place.
_STREET_TYPES: Final[Mapping[str, str]] = {
    "ALL": "ALLEE",
    "AV": "AVENUE",
    "BD": "BOULEVARD",
    "CHE": "CHEMIN",
    "CRS": "COURS",
    "ESP": "ESPLANADE",
    "FG": "FAUBOURG",
    "HAM": "HAMEAU",
    "IMP": "IMPASSE",
    "LOT": "LOTISSEMENT",
    "PAS": "PASSAGE",
    "PL": "PLACE",
    "PRO": "PROMENADE",
    "QUA": "QUARTIER",
    "RES": "RESIDENCE",
    "RPT": "ROND-POINT",
    "RTE": "ROUTE",
    "SQ": "SQUARE",
}
_REPETITION: Final[Mapping[str, str]] = {"B": "BIS", "T": "TER", "Q": "QUATER"}


@frozen(kw_only=True)
class SireneSettings:
    """Where Sirene is, the integration key, and how patient to be.

    ``max_retry_wait`` caps the one wait a 429 earns: a person is waiting on a sign-in
    screen, so a longer ``Retry-After`` gives up at once instead. ``total_timeout`` bounds
    a whole lookup, the retry and its wait included (``connect_timeout`` and
    ``read_timeout`` only bound each phase of a request): an answer trickled byte by
    byte is cut off there. TLS verification
    cannot be turned off (``ssl_context_factory`` may only add trust);
    ``transport_factory`` is a seam for tests.
    """

    api_key: str = field(repr=False)
    base_url: str = field(default=_DEFAULT_BASE_URL, validator=is_secure_url)
    connect_timeout: float = field(default=5.0, validator=positive)
    read_timeout: float = field(default=10.0, validator=positive)
    total_timeout: float = field(default=15.0, validator=positive)
    cache_ttl: float = field(default=3600.0, validator=positive)
    cache_size: int = field(default=1024, validator=positive)
    max_retry_wait: float = field(default=5.0, validator=positive)
    user_agent: str = "peps-onboarding"
    ssl_context_factory: Callable[[], ssl.SSLContext] | None = field(default=None, repr=False)
    transport_factory: Callable[[], httpx.BaseTransport] | None = field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.api_key.strip():
            raise ValueError("api_key is required")


class _UnreadableAnswerError(Exception):
    """The answer is not the documented JSON; becomes ``DirectoryUnavailableError``."""


_Entry = tuple[float, Establishment | None]


@frozen(eq=False)
class SireneRegistry:
    """Rule N2: establishment data from INSEE Sirene, with a small TTL cache.

    ``clock`` (a monotonic time in seconds) and ``sleep`` are injectable so that tests
    move time instead of waiting. The cache is bounded, least recently used first out,
    and shared by the threads of a host behind a lock.
    """

    settings: SireneSettings
    clock: Callable[[], float] = field(default=time.monotonic, kw_only=True, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, kw_only=True, repr=False)
    _cache: OrderedDict[str, _Entry] = field(factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        tls_verification(self.settings, "Sirene")  # a wiring error: fail now

    def establishment(self, siret: Siret) -> Establishment | None:
        """Rule N2: what Sirene says of this SIRET; ``None`` when it does not know it."""
        now = self.clock()
        with self._lock:
            entry = self._cache.get(siret.value)
            if entry is not None and entry[0] > now:
                self._cache.move_to_end(siret.value)
                return entry[1]
        found = self._fetch(siret)
        with self._lock:
            self._cache[siret.value] = (self.clock() + self.settings.cache_ttl, found)
            self._cache.move_to_end(siret.value)
            while len(self._cache) > self.settings.cache_size:
                self._cache.popitem(last=False)
        return found

    def _fetch(self, siret: Siret) -> Establishment | None:
        """One lookup, with at most one retry after a 429, all within ``total_timeout``.
        Raises when it cannot tell."""
        started = self.clock()
        total = self.settings.total_timeout
        response = self._get(siret, budget=total)
        if response is not None and response.status_code == 429:
            wait = _retry_after(response, default=1.0)
            left = total - (self.clock() - started) - wait
            if wait > self.settings.max_retry_wait or left <= 0:
                _log.warning("Sirene: quota dépassé, attente demandée de %s s", wait)
                raise DirectoryUnavailableError()
            self.sleep(wait)
            response = self._get(siret, budget=left)
        if response is None:
            raise DirectoryUnavailableError()
        status = response.status_code
        if status == 404:
            return None
        if status != 200:
            _log.warning("Sirene: réponse HTTP %s pour le SIRET %s", status, siret)
            raise DirectoryUnavailableError()
        failure: str
        try:
            return _establishment(siret, response.json())
        except ValueError as error:  # json.JSONDecodeError is a ValueError
            failure = f"JSON illisible ({type(error).__name__})"
        except _UnreadableAnswerError as error:
            failure = str(error)
        # Raised outside the ``except`` blocks: nothing from the response rides along.
        _log.warning("Sirene: réponse inexploitable pour le SIRET %s: %s", siret, failure)
        raise DirectoryUnavailableError()

    def _get(self, siret: Siret, *, budget: float) -> httpx.Response | None:
        """The answer within ``budget`` seconds, or ``None`` (logged; never the key)."""
        settings = self.settings
        url = f"{settings.base_url.rstrip('/')}/siret/{siret.value}"
        headers = {_KEY_HEADER: settings.api_key, "Accept": "application/json"}
        return send(
            settings,
            "Sirene",
            lambda client: client.get(url, headers=headers),
            _log,
            budget=budget,
        )


def _retry_after(response: httpx.Response, *, default: float) -> float:
    """``Retry-After`` in seconds; the HTTP-date form would need the wall clock: default."""
    value = response.headers.get("Retry-After", "").strip()
    # ASCII digits only (E1): « ² » passes str.isdigit and then breaks float().
    return float(value) if value.isascii() and value.isdigit() else default


# --- reading the answer ----------------------------------------------------------------


def _establishment(siret: Siret, document: object) -> Establishment:
    """Rules N2 and E4: the parts of a Sirene 3.11 ``/siret`` answer the core needs."""
    etablissement = _mapping(_mapping(document, "document").get("etablissement"), "etablissement")
    if etablissement.get("siret") != siret.value:
        raise _UnreadableAnswerError("SIRET de la réponse différent de celui demandé")
    unit = _mapping(etablissement.get("uniteLegale"), "uniteLegale")
    period = _current_period(etablissement.get("periodesEtablissement"))

    category = _text(unit, "categorieJuridiqueUniteLegale")
    if category is None or not _CATEGORY.fullmatch(category):
        raise _UnreadableAnswerError("catégorie juridique absente ou invalide")
    establishment_state = _text(period, "etatAdministratifEtablissement")
    if establishment_state not in {"A", "F"}:
        raise _UnreadableAnswerError("état administratif de l'établissement inconnu")
    unit_state = _text(unit, "etatAdministratifUniteLegale")
    if unit_state not in {"A", "C"}:
        raise _UnreadableAnswerError("état administratif de l'unité légale inconnu")

    address = etablissement.get("adresseEtablissement")
    return Establishment(
        siret=siret,
        designation=_designation(unit, period) or siret.formatted,
        legal_category=LegalCategory(category),
        closed=establishment_state == "F",
        legal_unit_ceased=unit_state == "C",
        address=_address(address) if isinstance(address, Mapping) else None,
    )


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _UnreadableAnswerError(f"« {what} » absent ou mal formé")
    return value


def _current_period(periods: object) -> Mapping[str, object]:
    """The open period (no ``dateFin``); Sirene lists it first, which is the fallback."""
    if not isinstance(periods, list) or not periods:
        raise _UnreadableAnswerError("« periodesEtablissement » absent ou vide")
    current = [p for p in periods if isinstance(p, Mapping) and p.get("dateFin") is None]
    return _mapping(current[0] if current else periods[0], "periodesEtablissement")


def _text(data: Mapping[str, object], key: str) -> str | None:
    """A present, disseminated, non-blank string, spaces normalised; else ``None``."""
    value = data.get(key)
    if not isinstance(value, str):
        return None
    text = " ".join(_CONTROL.sub(" ", value).split())
    return text if text and text != _NOT_DISSEMINATED else None


def _designation(unit: Mapping[str, object], period: Mapping[str, object]) -> str | None:
    """The legal unit's name, else a usual name or sign, else a physical person's name."""
    for data, key in (
        (unit, "denominationUniteLegale"),
        (unit, "denominationUsuelle1UniteLegale"),
        (period, "denominationUsuelleEtablissement"),
        (period, "enseigne1Etablissement"),
    ):
        text = _text(data, key)
        if text is not None:
            return text
    last_name = _text(unit, "nomUsageUniteLegale") or _text(unit, "nomUniteLegale")
    first_name = _text(unit, "prenomUsuelUniteLegale") or _text(unit, "prenom1UniteLegale")
    if last_name is None:
        return None
    return f"{first_name} {last_name}" if first_name else last_name


def _address(data: Mapping[str, object]) -> PostalAddress | None:
    """The establishment's address as letters print it; ``None`` when a part is missing."""
    street_name = _text(data, "libelleVoieEtablissement")
    postal_code = _text(data, "codePostalEtablissement")
    city = _text(data, "libelleCommuneEtablissement")
    if street_name is None or city is None or postal_code is None:
        return None
    if not _POSTAL_CODE.fullmatch(postal_code) or postal_code.startswith("00"):
        return None
    complement = _text(data, "complementAdresseEtablissement")
    special = _text(data, "distributionSpecialeEtablissement")
    return PostalAddress(
        street=_line(_street(data, street_name)),
        postal_code=PostalCode(postal_code),
        city=_line(city, CITY_MAX_LENGTH),
        address_complement=_line(complement) if complement else None,
        locality=_line(special) if special else None,
    )


def _street(data: Mapping[str, object], street_name: str) -> str:
    number = _text(data, "numeroVoieEtablissement")
    repetition = _text(data, "indiceRepetitionEtablissement")
    street_type = _text(data, "typeVoieEtablissement")
    if number and repetition:
        number = f"{number} {_REPETITION.get(repetition.upper(), repetition)}"
    head = " ".join(part for part in (number, street_type) if part)
    line = f"{head} {street_name}".strip()
    if street_type and street_type.upper() in _STREET_TYPES:
        spelled = " ".join(
            part for part in (number, _STREET_TYPES[street_type.upper()], street_name) if part
        )
        if len(spelled) <= _LINE_LENGTH:
            return spelled
    return line


def _line(text: str, length: int = ADDRESS_LINE_MAX_LENGTH) -> TextLine:
    """Registry data is trusted, not re-validated as form input: only bounded by the
    form's own caps (C4). The letter fits it to 38 characters a line, never this."""
    return TextLine(text[:length].rstrip())
