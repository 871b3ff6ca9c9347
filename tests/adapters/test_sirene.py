"""The Sirene registry against a real local HTTP server answering as INSEE's API 3.11 does;
and the legal-category labels shipped with the package."""

from __future__ import annotations

import csv
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Literal

import attrs
import pytest

from peps_onboarding.adapters.legal_categories import legal_category_label
from peps_onboarding.adapters.sirene import SireneRegistry, SireneSettings
from peps_onboarding.domain.errors import DirectoryUnavailableError
from peps_onboarding.domain.establishment import Establishment
from peps_onboarding.domain.values import (
    LegalCategory,
    PostalAddress,
    PostalCode,
    Siret,
    TextLine,
)
from peps_onboarding.ports import EstablishmentRegistry

API_KEY = "0f1e2d3c-cle-integration-de-test"
COMMUNE = Siret.parse("21330063500017")
HOSPITAL = Siret.parse("26330015400014")
CLOSED = Siret.parse("21330063500025")
CEASED = Siret.parse("20005478100014")
COMPANY = Siret.parse("55208100200016")
PERSON = Siret.parse("40123456200015")
READ_TIMEOUT = 0.3
# The trickling server: one byte every TRICKLE_INTERVAL (well inside READ_TIMEOUT, so no
# single read ever times out), for about 8 s if nobody stops it.
TRICKLE_INTERVAL = 0.08
TRICKLE_BYTES = 100
TOTAL_TIMEOUT = 1.0
# How late after the deadline the lookup may give up: scheduling slack on a loaded
# machine, far below the 8 s the trickle lasts.
DEADLINE_SLACK = 0.7


# --- realistic Sirene 3.11 answers ---------------------------------------------------


def _unit(category: str, **overrides: object) -> dict[str, object]:
    unit: dict[str, object] = {
        "etatAdministratifUniteLegale": "A",
        "statutDiffusionUniteLegale": "O",
        "dateCreationUniteLegale": "1983-03-01",
        "categorieJuridiqueUniteLegale": category,
        "denominationUniteLegale": None,
        "sigleUniteLegale": None,
        "denominationUsuelle1UniteLegale": None,
        "denominationUsuelle2UniteLegale": None,
        "denominationUsuelle3UniteLegale": None,
        "sexeUniteLegale": None,
        "nomUniteLegale": None,
        "nomUsageUniteLegale": None,
        "prenom1UniteLegale": None,
        "prenom2UniteLegale": None,
        "prenom3UniteLegale": None,
        "prenom4UniteLegale": None,
        "prenomUsuelUniteLegale": None,
        "pseudonymeUniteLegale": None,
        "activitePrincipaleUniteLegale": "84.11Z",
        "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
        "identifiantAssociationUniteLegale": None,
        "economieSocialeSolidaireUniteLegale": "N",
        "societeMissionUniteLegale": None,
        "caractereEmployeurUniteLegale": "O",
        "trancheEffectifsUniteLegale": "53",
        "anneeEffectifsUniteLegale": "2022",
        "nicSiegeUniteLegale": "00017",
        "dateDernierTraitementUniteLegale": "2024-03-22T14:26:06.000",
        "categorieEntreprise": "GE",
        "anneeCategorieEntreprise": "2021",
    }
    unit.update(overrides)
    return unit


def _address(**overrides: object) -> dict[str, object]:
    address: dict[str, object] = {
        "complementAdresseEtablissement": None,
        "numeroVoieEtablissement": "1",
        "indiceRepetitionEtablissement": None,
        "dernierNumeroVoieEtablissement": None,
        "indiceRepetitionDernierNumeroVoieEtablissement": None,
        "typeVoieEtablissement": "PL",
        "libelleVoieEtablissement": "PEY BERLAND",
        "codePostalEtablissement": "33000",
        "libelleCommuneEtablissement": "BORDEAUX",
        "libelleCommuneEtrangerEtablissement": None,
        "distributionSpecialeEtablissement": None,
        "codeCommuneEtablissement": "33063",
        "codeCedexEtablissement": None,
        "libelleCedexEtablissement": None,
        "codePaysEtrangerEtablissement": None,
        "libellePaysEtrangerEtablissement": None,
        "identifiantAdresseEtablissement": "33063_6900_00001",
        "coordonneeLambertAbscisseEtablissement": "417480.4",
        "coordonneeLambertOrdonneeEtablissement": "6421697.5",
    }
    address.update(overrides)
    return address


def _period(state: str = "A", **overrides: object) -> dict[str, object]:
    period: dict[str, object] = {
        "dateFin": None,
        "dateDebut": "2008-01-01",
        "etatAdministratifEtablissement": state,
        "changementEtatAdministratifEtablissement": False,
        "enseigne1Etablissement": None,
        "enseigne2Etablissement": None,
        "enseigne3Etablissement": None,
        "changementEnseigneEtablissement": False,
        "denominationUsuelleEtablissement": None,
        "changementDenominationUsuelleEtablissement": False,
        "activitePrincipaleEtablissement": "84.11Z",
        "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
        "changementActivitePrincipaleEtablissement": False,
        "caractereEmployeurEtablissement": "O",
        "changementCaractereEmployeurEtablissement": False,
    }
    period.update(overrides)
    return period


def sirene_answer(
    siret: Siret,
    unit: dict[str, object],
    *,
    periods: list[dict[str, object]] | None = None,
    address: dict[str, object] | None = None,
) -> bytes:
    """A ``GET /siret/{siret}`` 200 body with the fields and nulls Sirene 3.11 sends."""
    document = {
        "header": {"statut": 200, "message": "ok"},
        "etablissement": {
            "siren": siret.siren,
            "nic": siret.value[9:],
            "siret": siret.value,
            "statutDiffusionEtablissement": "O",
            "dateCreationEtablissement": "1983-03-01",
            "trancheEffectifsEtablissement": "53",
            "anneeEffectifsEtablissement": "2022",
            "activitePrincipaleRegistreMetiersEtablissement": None,
            "dateDernierTraitementEtablissement": "2024-03-22T14:26:06.000",
            "etablissementSiege": True,
            "nombrePeriodesEtablissement": len(periods or [None]),
            "uniteLegale": unit,
            "adresseEtablissement": address if address is not None else _address(),
            "adresse2Etablissement": None,
            "periodesEtablissement": periods if periods is not None else [_period()],
        },
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _not_found() -> Reply:
    body = {"header": {"statut": 404, "message": "Aucun élément trouvé pour le siret"}}
    return Reply(404, json.dumps(body).encode())


# --- a local server that answers as Sirene does --------------------------------------


@attrs.frozen
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    # Send that part of the answer one byte at a time (a slowloris upstream).
    trickle: Literal["headers", "body"] | None = None


@attrs.frozen
class Received:
    path: str
    api_key: str | None
    accept: str | None


class SireneServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies: deque[Reply] = deque()
        self.received: list[Received] = []
        self.release = threading.Event()  # ends a slow answer early at teardown

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api-sirene/3.11"

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (timeout tests) is expected: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: SireneServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.received.append(
            Received(
                self.path,
                self.headers.get("X-INSEE-Api-Key-Integration"),
                self.headers.get("Accept"),
            )
        )
        reply = self.server.replies.popleft() if self.server.replies else Reply(500)
        if reply.delay:
            self.server.release.wait(reply.delay)
        head = [f"HTTP/1.1 {reply.status} OK", "Content-Type: application/json;charset=utf-8"]
        head += [f"{name}: {value}" for name, value in reply.headers]
        head += [f"Content-Length: {len(reply.body)}", "Connection: close", "", ""]
        headers = "\r\n".join(head).encode("latin-1")
        try:
            for part, trickled in ((headers, "headers"), (reply.body, "body")):
                if reply.trickle == trickled:
                    self._trickle(part)
                else:
                    self.wfile.write(part)
        except OSError:
            pass  # the client timed out and left

    def _trickle(self, data: bytes) -> None:
        for index in range(len(data)):
            if self.server.release.wait(TRICKLE_INTERVAL):
                return
            self.wfile.write(data[index : index + 1])

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


@attrs.define
class FakeClock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@attrs.define
class SleepRecorder:
    waits: list[float] = attrs.Factory(list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def server() -> Iterator[SireneServer]:
    httpd = SireneServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> SleepRecorder:
    return SleepRecorder()


def _settings(
    base_url: str, *, cache_size: int = 1024, total_timeout: float = 5.0
) -> SireneSettings:
    return SireneSettings(
        api_key=API_KEY,
        base_url=base_url,
        connect_timeout=READ_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        total_timeout=total_timeout,
        cache_ttl=60.0,
        cache_size=cache_size,
    )


@pytest.fixture
def registry(server: SireneServer, clock: FakeClock, sleep: SleepRecorder) -> SireneRegistry:
    return SireneRegistry(_settings(server.base_url), clock=clock, sleep=sleep)


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _lookup(registry: EstablishmentRegistry, siret: Siret) -> Establishment | None:
    return registry.establishment(siret)


# --- reading establishments ------------------------------------------------------------


@pytest.mark.rule("N2")
def test_an_open_commune_is_read_with_its_designation_category_and_address(
    server: SireneServer, registry: SireneRegistry
) -> None:
    """Rule N2: a commune (7210) comes back open, named, categorised and addressed."""
    unit = _unit("7210", denominationUniteLegale="COMMUNE DE BORDEAUX")
    server.replies.append(Reply(200, sirene_answer(COMMUNE, unit)))

    found = _lookup(registry, COMMUNE)

    assert found == Establishment(
        siret=COMMUNE,
        designation="COMMUNE DE BORDEAUX",
        legal_category=LegalCategory("7210"),
        closed=False,
        legal_unit_ceased=False,
        address=PostalAddress(
            street=TextLine("1 PLACE PEY BERLAND"),
            postal_code=PostalCode("33000"),
            city=TextLine("BORDEAUX"),
        ),
    )


@pytest.mark.rule("N2")
def test_the_request_carries_the_integration_key_on_the_siret_path(
    server: SireneServer, registry: SireneRegistry
) -> None:
    """Rule N2: GET /siret/{siret} with X-INSEE-Api-Key-Integration, asking for JSON."""
    server.replies.append(Reply(200, sirene_answer(COMMUNE, _unit("7210"))))

    _lookup(registry, COMMUNE)

    assert server.received == [
        Received("/api-sirene/3.11/siret/21330063500017", API_KEY, "application/json")
    ]


@pytest.mark.rule("N2", "C4")
def test_a_hospital_keeps_its_legal_category_and_complement_of_address(
    server: SireneServer, registry: SireneRegistry
) -> None:
    """Rule N2: an établissement d'hospitalisation (7364) with a long street, kept whole
    (C4: the letter lays it out to 38 characters a line, not the registry adapter)."""
    unit = _unit("7364", denominationUniteLegale="CENTRE HOSPITALIER UNIVERSITAIRE DE BORDEAUX")
    address = _address(
        complementAdresseEtablissement="GROUPE HOSPITALIER PELLEGRIN",
        numeroVoieEtablissement="12",
        indiceRepetitionEtablissement="B",
        typeVoieEtablissement="RUE",
        libelleVoieEtablissement="DUBERNAT DU CENTRE DE LA PLACE AMELIE RABA LEON",
        codePostalEtablissement="33404",
        libelleCommuneEtablissement="TALENCE",
        distributionSpecialeEtablissement="CS 20001",
    )
    server.replies.append(Reply(200, sirene_answer(HOSPITAL, unit, address=address)))

    found = _lookup(registry, HOSPITAL)

    assert found is not None
    assert found.legal_category == LegalCategory("7364")
    assert found.designation == "CENTRE HOSPITALIER UNIVERSITAIRE DE BORDEAUX"
    assert found.address is not None
    assert (
        found.address.street.value == "12 BIS RUE DUBERNAT DU CENTRE DE LA PLACE AMELIE RABA LEON"
    )
    assert found.address.address_complement == TextLine("GROUPE HOSPITALIER PELLEGRIN")
    assert found.address.locality == TextLine("CS 20001")
    assert found.address.lines()[-1] == "33404 TALENCE"


@pytest.mark.rule("E4")
def test_a_closed_establishment_is_reported_closed(
    server: SireneServer, registry: SireneRegistry
) -> None:
    """Rule E4: état administratif « F » in the current period means closed."""
    unit = _unit("7210", denominationUniteLegale="COMMUNE DE BORDEAUX")
    periods = [
        _period("F", dateDebut="2021-01-01"),
        _period("A", dateDebut="1983-03-01", dateFin="2020-12-31"),
    ]
    server.replies.append(Reply(200, sirene_answer(CLOSED, unit, periods=periods)))

    found = _lookup(registry, CLOSED)

    assert found is not None
    assert found.closed is True
    assert found.legal_unit_ceased is False


@pytest.mark.rule("E4")
def test_a_ceased_legal_unit_is_reported_ceased(
    server: SireneServer, registry: SireneRegistry
) -> None:
    """Rule E4: a legal unit « cessée » (C) makes its establishment ineligible too."""
    unit = _unit(
        "7343",
        denominationUniteLegale="COMMUNAUTE URBAINE DE BORDEAUX",
        etatAdministratifUniteLegale="C",
    )
    server.replies.append(Reply(200, sirene_answer(CEASED, unit, periods=[_period("F")])))

    found = _lookup(registry, CEASED)

    assert found is not None
    assert (found.closed, found.legal_unit_ceased) == (True, True)


@pytest.mark.rule("N2")
def test_a_private_company_is_read_with_its_own_category(
    server: SireneServer, registry: SireneRegistry
) -> None:
    """Rule N2: a SAS (5710) is read as such; eligibility is the core's decision (E4)."""
    unit = _unit(
        "5710",
        denominationUniteLegale="CLINIQUE DU PARC SAS",
        activitePrincipaleUniteLegale="86.10Z",
        categorieEntreprise="PME",
    )
    address = _address(
        numeroVoieEtablissement="155",
        typeVoieEtablissement="BD",
        libelleVoieEtablissement="DE STALINGRAD",
        codePostalEtablissement="69006",
        libelleCommuneEtablissement="LYON",
    )
    server.replies.append(Reply(200, sirene_answer(COMPANY, unit, address=address)))

    found = _lookup(registry, COMPANY)

    assert found is not None
    assert found.legal_category == LegalCategory("5710")
    assert found.designation == "CLINIQUE DU PARC SAS"
    assert found.address is not None
    assert found.address.street == TextLine("155 BOULEVARD DE STALINGRAD")


@pytest.mark.rule("N2")
def test_a_physical_person_is_named_by_first_and_last_name(
    server: SireneServer, registry: SireneRegistry
) -> None:
    """Rule N2: without a denomination, a physical person's prénom and nom are the name."""
    unit = _unit(
        "1000",
        nomUniteLegale="MARTIN",
        nomUsageUniteLegale="DURAND",
        prenom1UniteLegale="JEANNE",
        prenomUsuelUniteLegale="JEANNE",
    )
    server.replies.append(Reply(200, sirene_answer(PERSON, unit)))

    found = _lookup(registry, PERSON)

    assert found is not None
    assert found.designation == "JEANNE DURAND"


@pytest.mark.rule("N2")
def test_a_usual_name_or_sign_names_an_establishment_without_denomination(
    server: SireneServer, registry: SireneRegistry
) -> None:
    """Rule N2: the usual name or the sign stands in when there is no denomination."""
    unit = _unit("1000", nomUniteLegale="[ND]", prenomUsuelUniteLegale="[ND]")
    periods = [_period(enseigne1Etablissement="PHARMACIE DU CENTRE")]
    server.replies.append(Reply(200, sirene_answer(PERSON, unit, periods=periods)))

    found = _lookup(registry, PERSON)

    assert found is not None
    assert found.designation == "PHARMACIE DU CENTRE"


@pytest.mark.rule("N2")
@pytest.mark.parametrize(
    ("number", "street_type", "name", "line"),
    [
        ("10", "AV", "JEAN JAURES", "10 AVENUE JEAN JAURES"),
        (None, "RTE", "DE PARIS", "ROUTE DE PARIS"),
        ("10", "BD", "DU PRESIDENT FRANKLIN ROOSEVELT", "10 BD DU PRESIDENT FRANKLIN ROOSEVELT"),
        ("3", "VLA", "DES ROSES", "3 VLA DES ROSES"),
        ("3", None, "LE BOURG", "3 LE BOURG"),
    ],
)
def test_street_types_are_spelled_out_when_the_line_allows(
    server: SireneServer,
    registry: SireneRegistry,
    number: str | None,
    street_type: str | None,
    name: str,
    line: str,
) -> None:
    """Rule N2: RUE/AV/BD… are spelled out unless that would pass 38 characters."""
    address = _address(
        numeroVoieEtablissement=number,
        typeVoieEtablissement=street_type,
        libelleVoieEtablissement=name,
    )
    server.replies.append(Reply(200, sirene_answer(COMMUNE, _unit("7210"), address=address)))

    found = _lookup(registry, COMMUNE)

    assert found is not None
    assert found.address is not None
    assert found.address.street == TextLine(line)


@pytest.mark.rule("N2")
@pytest.mark.parametrize(
    "address",
    [
        _address(libelleVoieEtablissement=None),
        _address(codePostalEtablissement=None),
        _address(codePostalEtablissement="[ND]"),
        _address(libelleCommuneEtablissement=""),
        _address(codePostalEtablissement="3300"),
        _address(codePostalEtablissement="٣٣٠٠٠"),  # E1: never read as 33000
    ],
    ids=["no-street", "no-postcode", "not-disseminated", "no-city", "bad-postcode", "not-ascii"],
)
def test_an_incomplete_address_is_no_address(
    server: SireneServer, registry: SireneRegistry, address: dict[str, object]
) -> None:
    """Rule N2: a partial address is left out rather than printed wrong on a letter."""
    unit = _unit("7210", denominationUniteLegale="COMMUNE DE BORDEAUX")
    server.replies.append(Reply(200, sirene_answer(COMMUNE, unit, address=address)))

    found = _lookup(registry, COMMUNE)

    assert found is not None
    assert found.address is None


# --- unknown, throttled, failing ------------------------------------------------------


@pytest.mark.rule("N2")
def test_an_unknown_siret_is_none(server: SireneServer, registry: SireneRegistry) -> None:
    """Rule N2: 404 means Sirene does not know the SIRET: ``None``, not an error."""
    server.replies.append(_not_found())

    assert _lookup(registry, COMMUNE) is None


@pytest.mark.rule("N2")
def test_a_429_is_retried_once_after_retry_after(
    server: SireneServer, registry: SireneRegistry, sleep: SleepRecorder
) -> None:
    """Rule N2: the quota answer is honoured once, through the injected sleep."""
    server.replies.extend(
        [
            Reply(429, b'{"fault":"quota"}', (("Retry-After", "2"),)),
            Reply(200, sirene_answer(COMMUNE, _unit("7210", denominationUniteLegale="X"))),
        ]
    )

    found = _lookup(registry, COMMUNE)

    assert found is not None
    assert sleep.waits == [2.0]
    assert len(server.received) == 2


@pytest.mark.rule("N2")
def test_a_second_429_is_directory_unavailable(
    server: SireneServer, registry: SireneRegistry, sleep: SleepRecorder
) -> None:
    """Rule N2: still throttled after one wait: the registry cannot tell, it says so."""
    server.replies.extend([Reply(429, headers=(("Retry-After", "1"),)), Reply(429)])

    with pytest.raises(DirectoryUnavailableError):
        _lookup(registry, COMMUNE)

    assert sleep.waits == [1.0]
    assert len(server.received) == 2


@pytest.mark.rule("N2")
def test_a_retry_after_beyond_the_cap_is_not_waited_for(
    server: SireneServer, registry: SireneRegistry, sleep: SleepRecorder
) -> None:
    """Rule N2: a person is waiting on a screen: a long Retry-After fails at once."""
    server.replies.append(Reply(429, headers=(("Retry-After", "60"),)))

    with pytest.raises(DirectoryUnavailableError):
        _lookup(registry, COMMUNE)

    assert sleep.waits == []
    assert len(server.received) == 1


@pytest.mark.rule("N2")
@pytest.mark.parametrize("status", [500, 503, 401, 403, 301])
def test_error_statuses_are_directory_unavailable(
    server: SireneServer, registry: SireneRegistry, status: int
) -> None:
    """Rule N2: a failing or misconfigured registry is « indisponible », never ``None``."""
    server.replies.append(Reply(status, b'{"header":{"statut":500}}'))

    with pytest.raises(DirectoryUnavailableError):
        _lookup(registry, COMMUNE)


@pytest.mark.rule("N2")
@pytest.mark.parametrize(
    "body",
    [
        b'{"header": {"statut": 200}, "etablissement": ',
        b"<html>Maintenance</html>",
        b"[]",
        b'{"header": {"statut": 200, "message": "ok"}}',
        sirene_answer(COMMUNE, _unit("72")),
        sirene_answer(COMMUNE, _unit("7210", etatAdministratifUniteLegale="?")),
        sirene_answer(COMMUNE, _unit("7210"), periods=[]),
        sirene_answer(HOSPITAL, _unit("7364")),
    ],
    ids=[
        "truncated",
        "html",
        "array",
        "no-etablissement",
        "bad-category",
        "unknown-state",
        "no-period",
        "other-siret",
    ],
)
def test_a_malformed_answer_is_directory_unavailable(
    server: SireneServer, registry: SireneRegistry, body: bytes
) -> None:
    """Rule N2: JSON that is not Sirene's documented shape cannot say « eligible » or not."""
    server.replies.append(Reply(200, body))

    with pytest.raises(DirectoryUnavailableError) as caught:
        _lookup(registry, COMMUNE)

    assert caught.value.__context__ is None


@pytest.mark.rule("N2")
def test_an_answer_slower_than_the_read_timeout_is_directory_unavailable(
    server: SireneServer, registry: SireneRegistry
) -> None:
    """Rule N2: a registry too slow to answer is « indisponible », the wait bounded."""
    server.replies.append(Reply(200, sirene_answer(COMMUNE, _unit("7210")), delay=5.0))

    with pytest.raises(DirectoryUnavailableError):
        _lookup(registry, COMMUNE)


@pytest.mark.rule("N2")
@pytest.mark.parametrize("part", ["headers", "body"])
def test_an_answer_trickled_byte_by_byte_gives_up_at_the_total_deadline(
    server: SireneServer, part: Literal["headers", "body"]
) -> None:
    """Rule N2: a registry that keeps every read alive (a byte well inside the read
    timeout) is cut off at the lookup's total deadline, as « indisponible »."""
    registry = SireneRegistry(_settings(server.base_url, total_timeout=TOTAL_TIMEOUT))
    body = sirene_answer(COMMUNE, _unit("7210")).ljust(TRICKLE_BYTES)
    server.replies.append(Reply(200, body, trickle=part))

    started = time.monotonic()
    with pytest.raises(DirectoryUnavailableError) as caught:
        _lookup(registry, COMMUNE)
    elapsed = time.monotonic() - started

    assert TOTAL_TIMEOUT - 0.05 <= elapsed < TOTAL_TIMEOUT + DEADLINE_SLACK
    assert caught.value.__context__ is None


@pytest.mark.rule("N2")
def test_a_retry_that_would_outlast_the_total_deadline_is_not_attempted(
    server: SireneServer, clock: FakeClock, sleep: SleepRecorder
) -> None:
    """Rule N2: the deadline covers the whole lookup: a Retry-After within the cap but
    beyond what is left of the budget fails at once, without waiting."""
    registry = SireneRegistry(
        _settings(server.base_url, total_timeout=2.0), clock=clock, sleep=sleep
    )
    server.replies.append(Reply(429, headers=(("Retry-After", "3"),)))

    with pytest.raises(DirectoryUnavailableError):
        _lookup(registry, COMMUNE)

    assert sleep.waits == []
    assert len(server.received) == 1


def test_the_total_deadline_has_a_default_and_must_be_positive() -> None:
    """The deadline is on by default (connect plus read: no well-behaved answer is cut)."""
    settings = SireneSettings(api_key=API_KEY)
    assert settings.total_timeout == settings.connect_timeout + settings.read_timeout
    with pytest.raises(ValueError, match="total_timeout"):
        SireneSettings(api_key=API_KEY, total_timeout=-1)


@pytest.mark.rule("N2")
def test_a_refused_connection_is_directory_unavailable() -> None:
    """Rule N2: nothing listening is « indisponible »; the API key rides in no exception."""
    registry = SireneRegistry(_settings(f"http://127.0.0.1:{_unused_port()}"))

    with pytest.raises(DirectoryUnavailableError) as caught:
        _lookup(registry, COMMUNE)

    assert caught.value.__context__ is None
    assert API_KEY not in repr(registry)


# --- the cache ----------------------------------------------------------------------


@pytest.mark.rule("N2")
def test_a_second_lookup_within_the_ttl_does_not_call_sirene(
    server: SireneServer, registry: SireneRegistry, clock: FakeClock
) -> None:
    """Rule N2: answers are cached for the TTL, sparing Sirene's 30 calls a minute."""
    server.replies.append(Reply(200, sirene_answer(COMMUNE, _unit("7210"))))

    first = _lookup(registry, COMMUNE)
    clock.now += 59.0
    second = _lookup(registry, COMMUNE)

    assert first == second
    assert len(server.received) == 1


@pytest.mark.rule("N2")
def test_an_expired_entry_calls_sirene_again(
    server: SireneServer, registry: SireneRegistry, clock: FakeClock
) -> None:
    """Rule N2: past the TTL the registry asks again and sees the establishment closed."""
    unit = _unit("7210", denominationUniteLegale="COMMUNE DE BORDEAUX")
    server.replies.extend(
        [
            Reply(200, sirene_answer(COMMUNE, unit)),
            Reply(200, sirene_answer(COMMUNE, unit, periods=[_period("F")])),
        ]
    )

    assert _lookup(registry, COMMUNE) is not None
    clock.now += 60.0
    found = _lookup(registry, COMMUNE)

    assert found is not None
    assert found.closed is True
    assert len(server.received) == 2


@pytest.mark.rule("N2")
def test_unknown_sirets_are_cached_too(
    server: SireneServer, registry: SireneRegistry, clock: FakeClock
) -> None:
    """Rule N2: a 404 is an answer: cached for the TTL like any other."""
    server.replies.append(_not_found())

    assert _lookup(registry, COMMUNE) is None
    clock.now += 30.0
    assert _lookup(registry, COMMUNE) is None

    assert len(server.received) == 1


@pytest.mark.rule("N2")
def test_errors_are_never_cached(server: SireneServer, registry: SireneRegistry) -> None:
    """Rule N2: after a failure the next lookup asks Sirene again at once."""
    server.replies.extend([Reply(503), Reply(200, sirene_answer(COMMUNE, _unit("7210")))])

    with pytest.raises(DirectoryUnavailableError):
        _lookup(registry, COMMUNE)
    found = _lookup(registry, COMMUNE)

    assert found is not None
    assert len(server.received) == 2


@pytest.mark.rule("N2")
def test_the_cache_is_bounded_least_recently_used_out(
    server: SireneServer, clock: FakeClock, sleep: SleepRecorder
) -> None:
    """Rule N2: the cache holds a bounded number of SIRETs; the oldest-used goes first."""
    registry = SireneRegistry(_settings(server.base_url, cache_size=2), clock=clock, sleep=sleep)
    server.replies.extend(
        [
            Reply(200, sirene_answer(COMMUNE, _unit("7210"))),
            Reply(200, sirene_answer(HOSPITAL, _unit("7364"))),
            Reply(200, sirene_answer(COMPANY, _unit("5710"))),
            Reply(200, sirene_answer(HOSPITAL, _unit("7364"))),
        ]
    )

    for siret in (COMMUNE, HOSPITAL, COMMUNE, COMPANY):  # HOSPITAL is then the oldest used
        _lookup(registry, siret)
    _lookup(registry, COMMUNE)
    _lookup(registry, HOSPITAL)

    assert [r.path.rsplit("/", 1)[-1] for r in server.received] == [
        COMMUNE.value,
        HOSPITAL.value,
        COMPANY.value,
        HOSPITAL.value,
    ]


def test_the_api_key_is_required_and_never_shown() -> None:
    """The integration key is configuration, not something a repr or log should print."""
    with pytest.raises(ValueError, match="api_key"):
        SireneSettings(api_key=" ")
    settings = SireneSettings(api_key=API_KEY)

    assert API_KEY not in repr(settings)
    assert settings.base_url == "https://api.insee.fr/api-sirene/3.11"
    with pytest.raises(ValueError, match="https"):
        SireneSettings(api_key=API_KEY, base_url="http://api.insee.fr/api-sirene/3.11")


# --- legal-category labels --------------------------------------------------------------


@pytest.mark.rule("E4")
@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("7210", "Commune et commune nouvelle"),
        ("7364", "Établissement d'hospitalisation"),
        ("4140", "Établissement public local à caractère industriel ou commercial"),
        ("7490", "Autre personne morale de droit administratif"),
        ("5710", "SAS, société par actions simplifiée"),
        ("9220", "Association déclarée"),
        ("72", "Collectivité territoriale"),
        ("7", "Personne morale et organisme soumis au droit administratif"),
    ],
)
def test_legal_category_codes_have_their_insee_labels(code: str, label: str) -> None:
    """Rule E4: a legal category is shown with the nomenclature's French label."""
    assert legal_category_label(code) == label


@pytest.mark.rule("E4")
def test_an_unlisted_level_iii_code_falls_back_to_its_level_ii_parent() -> None:
    """Rule E4: a 4-digit code newer than the shipped list still says what body it is."""
    assert legal_category_label("7399") == "Établissement public administratif"
    assert legal_category_label("4199") == (
        "Établissement public ou régie à caractère industriel ou commercial"
    )


@pytest.mark.rule("E4")
@pytest.mark.parametrize("code", ["3999", "1999", "abcd", "", "72100", "7 21"])
def test_an_unknown_legal_category_has_no_label(code: str) -> None:
    """Rule E4: a code the nomenclature does not know has no label, not a guessed one."""
    assert legal_category_label(code) is None


def test_the_shipped_nomenclature_is_well_formed() -> None:
    """Every level III code has a level II parent, every level II a level I parent."""
    text = resources.files("peps_onboarding.data").joinpath("legal_categories.csv")
    rows = list(csv.DictReader(text.read_text(encoding="utf-8").splitlines(), delimiter=";"))
    codes = {row["code"] for row in rows}
    lengths = {"I": 1, "II": 2, "III": 4}

    assert list(rows[0]) == ["level", "code", "label"]
    assert len(codes) == len(rows)
    for row in rows:
        assert len(row["code"]) == lengths[row["level"]] and row["code"].isdigit()
        assert row["label"] and row["label"] == row["label"].strip()
        if row["level"] != "I":
            assert row["code"][: 1 if row["level"] == "II" else 2] in codes
    assert {c for c in codes if c.startswith("7") and len(c) == 4} >= {
        "7111",
        "7210",
        "7220",
        "7230",
        "7361",
        "7364",
        "7389",
        "7410",
        "7490",
    }
